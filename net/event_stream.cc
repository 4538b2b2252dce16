#include "net/event_stream.h"

#include "core/strings.h"
#include "net/rpc.h"

namespace vms {

EventStream::EventStream(std::vector<UpstreamClient*> upstreams, Options options, Handler handler)
    : upstreams_(std::move(upstreams)), options_(options), handler_(std::move(handler)) {}

EventStream::~EventStream() { Stop(); }

void EventStream::Start() {
  thread_ = std::thread([this] { Loop(); });
  if (options_.silence.count() > 0) guard_ = std::thread([this] { Guard(); });
}

void EventStream::Stop() {
  if (stop_.exchange(true)) return;
  {
    MutexLock lock(&mu_);
    if (ctx_) ctx_->TryCancel();
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
  if (guard_.joinable()) guard_.join();
}

void EventStream::Restart() {
  restart_ = true;
  MutexLock lock(&mu_);
  if (ctx_) ctx_->TryCancel();
  cv_.SignalAll();
}

void EventStream::SwitchTo(size_t i) {
  switch_to_ = i;
  Restart();
}

void EventStream::SetUpstreams(std::vector<UpstreamClient*> upstreams) {
  if (upstreams.empty()) return;
  {
    MutexLock lock(&mu_);
    upstreams_ = std::move(upstreams);
  }
  SwitchTo(0);
}

void EventStream::Sleep(std::chrono::milliseconds d) {
  const Clock::TimePoint until = options_.clock->Now() + d;
  MutexLock lock(&mu_);
  while (!stop_ && !restart_ && options_.clock->WaitUntil(&cv_, until)) {
  }
}

void EventStream::Loop() {
  std::chrono::milliseconds backoff = options_.min_backoff;
  size_t i = 0;
  while (!stop_) {
    restart_ = false;  // a Restart() that woke the backoff is served by this attempt
    if (size_t to = switch_to_.exchange(kNoSwitch); to != kNoSwitch) i = to;
    UpstreamClient* upstream;
    {
      MutexLock lock(&mu_);
      i %= upstreams_.size();
      upstream = upstreams_[i];
    }
    current_ = i;
    current_upstream_ = upstream;
    const Clock::TimePoint start = options_.clock->Now();
    bool delivered = false;
    absl::StatusOr<uint64_t> from = handler_.prepare ? handler_.prepare() : uint64_t{0};
    absl::Status why = from.status();
    if (from.ok()) {
      // A follower holds everything up to where it follows from: an earlier
      // upstream must hold that much too before it is returned to.
      if (options_.kind == Kind::kFollow && *from > last_seq_) last_seq_ = *from;
      why = StreamOnce(i, upstream, *from, &delivered);
    }
    if (stop_) return;
    if (restart_.exchange(false)) {
      backoff = options_.min_backoff;
      continue;
    }
    if (handler_.on_ended) handler_.on_ended(i, why);
    if (delivered && options_.clock->Now() - start >= options_.healthy) {
      backoff = options_.min_backoff;  // it was working: retry soon
    }
    ++i;  // the next upstream, if there are others
    Sleep(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::Status EventStream::StreamOnce(size_t i, UpstreamClient* upstream, uint64_t from_seq,
                                     bool* delivered) {
  auto ctx = std::make_shared<grpc::ClientContext>();
  {
    MutexLock lock(&mu_);
    if (stop_ || restart_) return absl::CancelledError("stopped");
    ctx_ = ctx;
    cut_for_silence_ = false;
    silence_ = options_.silence;
  }
  ++attempts_;
  std::unique_ptr<grpc::ClientReader<FollowMessage>> reader;
  std::string what;
  if (options_.kind == Kind::kFollow) {
    FollowRequest req;
    req.set_from_seq(from_seq);
    reader = upstream->read()->Follow(ctx.get(), req);
    what = StrCat("follow ", upstream->address());
  } else {
    WatchRequest req;
    req.set_site(options_.watch_site);
    reader = upstream->read()->Watch(ctx.get(), req);
    what = StrCat("watch ", upstream->address());
  }
  FollowMessage msg;
  absl::Status handled;
  for (;;) {
    {
      MutexLock lock(&mu_);
      waiting_ = true;
      waiting_since_ = options_.clock->Now();
    }
    bool read = reader->Read(&msg);
    {
      MutexLock lock(&mu_);
      waiting_ = false;
    }
    if (!read) break;
    if (msg.has_heartbeat() && msg.heartbeat().interval_ms() > 0) {
      auto interval = std::chrono::milliseconds(
          std::min<int64_t>(msg.heartbeat().interval_ms(), 3600 * 1000));  // bounded: an hour
      MutexLock lock(&mu_);
      silence_ = std::max(options_.silence, kHeartbeatsOfSilence * interval);
    }
    if (!*delivered) {
      *delivered = true;
      connected_ = true;
      if (handler_.on_connected) handler_.on_connected(i);
    }
    handled = handler_.on_message(msg);
    if (handled.ok() && msg.has_event() && msg.event().seq() > last_seq_) {
      last_seq_ = msg.event().seq();
    }
    if (!handled.ok()) {
      ctx->TryCancel();
      break;
    }
  }
  grpc::Status finish = reader->Finish();
  connected_ = false;
  bool silent;
  std::chrono::milliseconds silence;
  {
    MutexLock lock(&mu_);
    ctx_.reset();
    silent = cut_for_silence_;
    silence = silence_;
  }
  if (!handled.ok()) return handled;
  if (silent) {
    return absl::UnavailableError(StrCat(what, ": nothing arrived for ", silence.count(),
                                         " ms (a hung or stopped upstream): cut"));
  }
  if (finish.ok()) return absl::UnavailableError(StrCat(what, ": the upstream ended the stream"));
  return FromGrpc(finish, what);
}

std::optional<std::pair<size_t, UpstreamClient*>> EventStream::EarlierIsBack() {
  const size_t current = current_;
  std::vector<UpstreamClient*> earlier;
  {
    MutexLock lock(&mu_);
    for (size_t i = 0; i < current && i < upstreams_.size(); ++i) earlier.push_back(upstreams_[i]);
  }
  for (size_t i = 0; i < earlier.size(); ++i) {
    // Answering is not enough: one still catching up would have less than
    // this stream already delivered.
    auto info = earlier[i]->SiteInfo(std::chrono::milliseconds(1000));
    if (info.ok() && info->applied_seq() >= last_seq_) return std::make_pair(i, earlier[i]);
  }
  return std::nullopt;
}

void EventStream::Guard() {
  Clock* clock = options_.clock;
  const bool returns = options_.return_every.count() > 0;
  Clock::TimePoint next_probe = clock->Now() + options_.return_every;
  for (;;) {
    bool probe = false;
    {
      MutexLock lock(&mu_);
      if (stop_) return;
      Clock::TimePoint now = clock->Now();
      if (waiting_ && ctx_ != nullptr && now - waiting_since_ >= silence_) {
        cut_for_silence_ = true;
        waiting_ = false;
        ctx_->TryCancel();
      }
      if (returns && now >= next_probe) {
        next_probe = now + options_.return_every;
        probe = current_ > 0;
      }
      if (!probe) {
        // Until the current wait would turn silent; a wait that begins
        // meanwhile ends no later than this plus `silence`, so it is checked
        // in time.
        Clock::TimePoint next = waiting_ ? waiting_since_ + silence_ : now + options_.silence;
        if (returns) next = std::min(next, next_probe);
        while (!stop_ && clock->WaitUntil(&cv_, next)) {
        }
      }
    }
    // The probe waits on the network (a second at most), not under mu_;
    // silence is checked again right after it.
    if (probe) {
      if (auto back = EarlierIsBack()) {
        UpstreamClient* from = current_upstream_;
        SwitchTo(back->first);
        if (handler_.on_returned) handler_.on_returned(from, back->second);
      }
    }
  }
}

}  // namespace vms
