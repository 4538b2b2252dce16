// Counting into a Prometheus metric a component was given, which may be
// absent (unit tests, tools): components take the few metrics they update,
// never the registry (net/metrics.h makes them).
#ifndef VMS_CORE_COUNTER_H_
#define VMS_CORE_COUNTER_H_

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"

namespace vms {

inline void Count(prometheus::Counter* counter, double n = 1) {
  if (counter != nullptr) counter->Increment(n);
}
inline void Observe(prometheus::Histogram* histogram, double value) {
  if (histogram != nullptr) histogram->Observe(value);
}
inline void Set(prometheus::Gauge* gauge, double value) {
  if (gauge != nullptr) gauge->Set(value);
}

}  // namespace vms

#endif  // VMS_CORE_COUNTER_H_
