// drasyl-sp: the super peer. Drop-in for the reference drasyl-sp/netsody-sp:
// same environment variables, identity file and startup banner.
#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <thread>

#include "common/identity.h"
#include "config/config.h"
#include "config/flags_help.h"
#include "control/backend_factory.h"
#include "control/banner.h"
#include "control/control_plane.h"
#include "control/key_derivation_pool.h"
#include "control/metrics_http.h"
#include "gflags/gflags.h"
#include "glog/logging.h"

DECLARE_bool(help);

namespace drasyl {
namespace {

int Fail(const absl::Status& status) {
  LOG(ERROR) << status.message();
  std::fprintf(stderr, "drasyl-sp: %s\n", std::string(status.message()).c_str());
  return 1;
}

int RunSuperPeer(const Config& cfg) {
  // Signals stay deliverable while the identity is generated (a few seconds
  // at difficulty 24): SIGTERM then ends the process at once, and the
  // identity file is written atomically, so nothing half-written remains.
  absl::StatusOr<Identity> identity = LoadOrCreateIdentity(cfg.identity_file, cfg.min_pow_difficulty);
  if (!identity.ok()) return Fail(identity.status());
  if (!PowValid(identity->public_key, identity->pow, cfg.min_pow_difficulty)) {
    LOG(WARNING) << "the identity's proof of work is below MIN_POW_DIFFICULTY "
                 << cfg.min_pow_difficulty << " (difficulty "
                 << PowDifficulty(identity->public_key, identity->pow) << ")";
  }

  // From here on SIGINT/SIGTERM are taken by sigwait below; every thread
  // created after this point (workers, DPDK lcores, metrics) inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  // The CPUs we may use, before the DPDK EAL binds this thread to its main lcore.
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) CPU_SET(0, &allowed);

  ControlOptions copts;
  copts.config = cfg;
  copts.identity = *identity;
  copts.housekeeping_interval_ms = static_cast<uint64_t>(cfg.housekeeping_interval_ms);
  absl::StatusOr<std::unique_ptr<ControlPlane>> control = ControlPlane::Create(copts);
  if (!control.ok()) return Fail(control.status());

  absl::StatusOr<std::unique_ptr<Backend>> backend = CreateBackend(cfg, **control);
  if (!backend.ok()) return Fail(backend.status());
  (*control)->AttachBackend(backend->get());
  // Key-exchange helpers where the backend's workers are not.
  cpu_set_t worker_cpus, main_cpus;
  const bool pinned = (*backend)->PinnedCpus(&worker_cpus, &main_cpus);
  const KeyDerivationPlacement kx = PlaceKeyDerivation(
      cfg.kx_threads, allowed, pinned ? &worker_cpus : nullptr, pinned ? &main_cpus : nullptr);
  (*control)->StartKeyDerivation(kx.threads, kx.pinned ? &kx.cpus : nullptr);
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
            << " worker(s), " << kx.threads << " key-exchange thread(s)"
            << (kx.pinned ? " on CPU " + CpuListString(kx.cpus) : "") << "; network "
            << cfg.network_id << "; messages "
            << (cfg.arm_messages ? "armed" : "unarmed");

  if (absl::Status s = (*backend)->Start(); !s.ok()) return Fail(s);
  std::atomic<bool> stop{false};
  std::thread control_thread([&] { (*control)->Run(&stop); });

  // Until a signal: the backend's housekeeping about once a second (its
  // log notes, its health); a backend that cannot go on ends the process
  // with exit code 1, for a service manager to restart it.
  int exit_code = 0;
  const timespec tick{1, 0};
  for (;;) {
    const int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig > 0) {
      LOG(INFO) << "received " << strsignal(sig) << ", shutting down";
      break;
    }
    if (absl::Status s = (*backend)->Housekeeping(); !s.ok()) {
      LOG(ERROR) << s.message();
      exit_code = 1;
      break;
    }
  }
  stop.store(true);
  control_thread.join();
  (*backend)->Stop();
  if (metrics) metrics->Stop();
  LOG(INFO) << "stopped";
  return exit_code;
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
  gflags::ParseCommandLineNonHelpFlags(&argc, &argv, true);
  if (FLAGS_help) {  // gflags' own --help exits 1 and lists every library's flags
    drasyl::PrintOwnFlagsHelp(argv[0], {"/config/"});
    return 0;
  }
  gflags::HandleCommandLineHelpFlags();  // --helpfull, --version, ...
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
  signal(SIGPIPE, SIG_IGN);
  return drasyl::RunSuperPeer(*cfg);
}
