#include "server/sites_service.h"

#include "core/principal.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "server/rpc_util.h"

namespace vms {

grpc::ServerUnaryReactor* SitesService::Report(grpc::CallbackServerContext* ctx,
                                               const SiteReport* req, ReportAck* resp) {
  return RunUnary(ctx, pool_, [this, req, resp, caller = CallerOf(ctx)]() -> absl::Status {
    VMS_ASSIGN_OR_RETURN(auto ack, handler_(caller, *req));
    *resp = std::move(ack);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SitesService::HostUsage(grpc::CallbackServerContext* ctx,
                                                  const HostUsageReport* req, HostUsageAck*) {
  return RunUnary(ctx, pool_, [this, req, caller = CallerOf(ctx)]() -> absl::Status {
    if (census_ == nullptr) {
      return absl::UnimplementedError("the master keeps no census: report to a site's replica");
    }
    if (!insecure_) {
      auto sender = ParsePrincipal(caller);
      if (!sender.ok() || sender->kind != PrincipalKind::kHost || sender->name != req->host()) {
        return absl::PermissionDeniedError(
            StrCat(caller, " may not report the usage of host ", Quote(req->host()),
                   ": a host (vms://host/NAME) reports only about itself"));
      }
    }
    return census_->Add(*req);
  });
}

absl::Status AcceptForRelay(const std::string& principal, bool insecure, SiteReport* report) {
  if (insecure) return absl::OkStatus();
  auto sender = ParsePrincipal(principal);
  if (!sender.ok() || sender->kind != PrincipalKind::kSite) {
    return absl::PermissionDeniedError(StrCat(principal, " may not report about site ",
                                              report->site(),
                                              ": only sites (vms://site/NAME) send reports"));
  }
  const std::string& first = report->via().empty() ? sender->name : report->via(0);
  if (first != report->site()) {
    return absl::PermissionDeniedError(
        StrCat(principal, " may not report about site ", report->site(),
               report->via().empty() ? ": a site reports only about itself"
                                     : StrCat(": the report came from ", first)));
  }
  if (static_cast<size_t>(report->via_size()) + 1 >= kMaxRelayDepth) {
    return absl::InvalidArgumentError(
        StrCat("a site report is relayed by at most ", kMaxRelayDepth - 1, " sites"));
  }
  report->add_via(sender->name);
  return absl::OkStatus();
}

}  // namespace vms
