#include "control/key_derivation_pool.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace drasyl {

KeyDerivationPool::KeyDerivationPool(const KeyExchange& kx, int threads, int wakeup_fd,
                                     const cpu_set_t* cpus)
    : kx_(kx), wakeup_fd_(wakeup_fd) {
  for (int i = 0; i < threads; ++i) helpers_.push_back(std::make_unique<Helper>());
  for (size_t i = 0; i < helpers_.size(); ++i) {
    Helper* h = helpers_[i].get();
    h->thread = std::thread([this, h] { Run(h); });
    pthread_setname_np(h->thread.native_handle(), absl::StrFormat("drasyl-kx%d", i).c_str());
    if (cpus != nullptr) pthread_setaffinity_np(h->thread.native_handle(), sizeof(*cpus), cpus);
  }
}

namespace {

int Count(const cpu_set_t& s) { return CPU_COUNT(&s); }

}  // namespace

KeyDerivationPlacement PlaceKeyDerivation(int requested, const cpu_set_t& allowed,
                                          const cpu_set_t* workers, const cpu_set_t* main) {
  constexpr int kMaxDefault = 4;
  constexpr int kMaxRequested = 64;
  KeyDerivationPlacement p;
  if (workers == nullptr || main == nullptr) {
    const int cpus = Count(allowed);
    p.threads = requested >= 0 ? std::min(requested, kMaxRequested)
                               : (cpus < 2 ? 0 : std::min(cpus, kMaxDefault));
    return p;
  }
  cpu_set_t busy, spare;
  CPU_OR(&busy, workers, main);
  CPU_XOR(&spare, &allowed, &busy);
  CPU_AND(&spare, &spare, &allowed);  // allowed and not busy
  int default_threads = 0;
  if (Count(spare) > 0) {
    p.cpus = spare;
    default_threads = std::min(Count(spare), kMaxDefault);
  } else {
    // Beside the control thread, never on a busy-polling worker's CPU
    // (unless the main lcore shares it: then there is no better place).
    CPU_XOR(&p.cpus, main, workers);
    CPU_AND(&p.cpus, &p.cpus, main);
    if (Count(p.cpus) == 0) p.cpus = *main;
  }
  p.threads = requested >= 0 ? std::min(requested, kMaxRequested) : default_threads;
  p.pinned = p.threads > 0;
  return p;
}

std::string CpuListString(const cpu_set_t& cpus) {
  std::string out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &cpus)) continue;
    int last = c;
    while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &cpus)) ++last;
    absl::StrAppend(&out, out.empty() ? "" : ",", c);
    if (last > c) absl::StrAppend(&out, "-", last);
    c = last;
  }
  return out;
}

KeyDerivationPool::~KeyDerivationPool() {
  stop_.store(true, std::memory_order_relaxed);
  for (auto& h : helpers_) {
    h->submitted.fetch_add(1, std::memory_order_release);
    h->submitted.notify_one();
  }
  for (auto& h : helpers_) h->thread.join();
}

bool KeyDerivationPool::Submit(const PublicKey& peer) {
  // Round robin; a full queue passes the job to the next helper.
  for (size_t tries = 0; tries < helpers_.size(); ++tries) {
    Helper& h = *helpers_[next_];
    next_ = (next_ + 1) % helpers_.size();
    if (h.in.TryPush(peer)) {
      h.submitted.fetch_add(1, std::memory_order_release);
      h.submitted.notify_one();
      return true;
    }
  }
  return false;
}

void KeyDerivationPool::Run(Helper* h) {
  while (!stop_.load(std::memory_order_relaxed)) {
    // Read before looking at the ring: a Submit after this changes it, so
    // the wait below cannot miss a job.
    const uint32_t seen = h->submitted.load(std::memory_order_acquire);
    bool produced = false;
    while (PublicKey* peer = stop_.load(std::memory_order_relaxed) ? nullptr : h->in.Front()) {
      Result* r = h->out.Reserve();
      if (r == nullptr) break;  // only if the caller exceeds kMaxInFlight
      r->peer = *peer;
      absl::StatusOr<SessionKeys> keys = kx_.Derive(*peer);
      r->ok = keys.ok();
      r->keys = keys.ok() ? *keys : SessionKeys{};
      h->in.Pop();
      h->out.Push();
      produced = true;
    }
    if (produced && wakeup_fd_ >= 0) {
      const uint64_t one = 1;
      ssize_t w = ::write(wakeup_fd_, &one, sizeof(one));
      (void)w;
    }
    if (h->in.Front() != nullptr) {
      std::this_thread::yield();  // results not collected yet
      continue;
    }
    h->submitted.wait(seen, std::memory_order_acquire);
  }
}

}  // namespace drasyl
