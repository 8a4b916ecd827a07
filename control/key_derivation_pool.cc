#include "control/key_derivation_pool.h"

#include <pthread.h>
#include <unistd.h>

#include <cstdint>

#include "absl/strings/str_format.h"

namespace drasyl {

KeyDerivationPool::KeyDerivationPool(const KeyExchange& kx, int threads, int wakeup_fd)
    : kx_(kx), wakeup_fd_(wakeup_fd) {
  for (int i = 0; i < threads; ++i) helpers_.push_back(std::make_unique<Helper>());
  for (size_t i = 0; i < helpers_.size(); ++i) {
    Helper* h = helpers_[i].get();
    h->thread = std::thread([this, h] { Run(h); });
    pthread_setname_np(h->thread.native_handle(), absl::StrFormat("drasyl-kx%d", i).c_str());
  }
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
