// drasyl-sp: the super peer. Drop-in for the reference drasyl-sp/netsody-sp:
// same environment variables, identity file and startup banner.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <thread>

#include "common/config.h"
#include "common/identity.h"
#include "control/backend_factory.h"
#include "control/banner.h"
#include "control/control_plane.h"
#include "control/metrics_http.h"
#include "gflags/gflags.h"
#include "glog/logging.h"

DEFINE_uint64(housekeeping_interval_ms, 5000,
              "Interval of housekeeping (expire stale peers, UNITE rate-limit entries and idle "
              "TCP connections), in milliseconds.");

namespace drasyl {
namespace {

int Fail(const absl::Status& status) {
  LOG(ERROR) << status.message();
  std::fprintf(stderr, "drasyl-sp: %s\n", std::string(status.message()).c_str());
  return 1;
}

int RunSuperPeer(const Config& cfg) {
  absl::StatusOr<Identity> identity = LoadOrCreateIdentity(cfg.identity_file, cfg.min_pow_difficulty);
  if (!identity.ok()) return Fail(identity.status());

  ControlOptions copts;
  copts.config = cfg;
  copts.identity = *identity;
  copts.housekeeping_interval_ms = std::max<uint64_t>(1, FLAGS_housekeeping_interval_ms);
  absl::StatusOr<std::unique_ptr<ControlPlane>> control = ControlPlane::Create(copts);
  if (!control.ok()) return Fail(control.status());

  absl::StatusOr<std::unique_ptr<Backend>> backend = CreateBackend(cfg, **control);
  if (!backend.ok()) return Fail(backend.status());
  (*control)->AttachBackend(backend->get());
  if (absl::Status s = (*control)->StartTcp(); !s.ok()) return Fail(s);

  std::unique_ptr<MetricsHttpServer> metrics;
  if (cfg.prometheus_listen) {
    ControlPlane* cp = control->get();
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> m = MetricsHttpServer::Create(
        *cfg.prometheus_listen, cfg.prometheus_token, [cp] { return cp->RenderMetrics(); });
    if (!m.ok()) return Fail(m.status());
    metrics = std::move(*m);
    metrics->Start();
  }

  // The banner shows the addresses as bound (ephemeral ports resolved).
  Config shown = cfg;
  std::vector<SocketAddress> udp = (*backend)->udp_listeners();
  size_t next = 0;
  if (shown.udp4_listen) shown.udp4_listen = udp[next++];
  if (shown.udp6_listen) shown.udp6_listen = udp[next++];
  std::vector<SocketAddress> tcp = (*control)->tcp_listeners();
  next = 0;
  if (shown.tcp4_listen && next < tcp.size()) shown.tcp4_listen = tcp[next++];
  if (shown.tcp6_listen && next < tcp.size()) shown.tcp6_listen = tcp[next++];
  std::cout << StartupBanner(shown, identity->public_key, AnnounceAddresses(cfg)) << std::flush;
  LOG(INFO) << "backend " << (*backend)->name() << " with " << (*backend)->num_workers()
            << " worker(s); network " << cfg.network_id << "; messages "
            << (cfg.arm_messages ? "armed" : "unarmed");

  if (absl::Status s = (*backend)->Start(); !s.ok()) return Fail(s);
  std::atomic<bool> stop{false};
  std::thread control_thread([&] { (*control)->Run(&stop); });

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  LOG(INFO) << "received " << strsignal(sig) << ", shutting down";
  stop.store(true);
  control_thread.join();
  (*backend)->Stop();
  if (metrics) metrics->Stop();
  LOG(INFO) << "stopped";
  return 0;
}

}  // namespace
}  // namespace drasyl

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "drasyl / Netsody super peer.\n"
      "Every setting is also read from the environment as DRASYL_<NAME> or NETSODY_<NAME>\n"
      "(e.g. DRASYL_NETWORK_ID); a flag given on the command line wins.\n"
      "RUST_LOG=error|warn|info|debug|trace sets the log level.");
  gflags::SetVersionString("0.1.0");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  if (argc > 1) {
    std::fprintf(stderr, "drasyl-sp: unexpected argument '%s' (see --help)\n", argv[1]);
    return 2;
  }
  absl::StatusOr<drasyl::Config> cfg = drasyl::LoadConfig();
  if (!cfg.ok()) {
    std::fprintf(stderr, "drasyl-sp: %s\n", std::string(cfg.status().message()).c_str());
    return 2;
  }
  FLAGS_minloglevel = cfg->log_level;
  if (cfg->verbose) FLAGS_v = 1;

  // Signals are taken by sigwait on the main thread; every thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return drasyl::RunSuperPeer(*cfg);
}
