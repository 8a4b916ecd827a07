#include "dataplane/dpdk/dpdk_worker_shared.h"

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace drasyl::dpdk {

SharedConf::~SharedConf() { std::free(qsbr_); }

absl::Status SharedConf::InitReaders(unsigned readers) {
  // Plain memory (it outlives the EAL's heap in teardown), cache-aligned.
  const size_t size = RTE_ALIGN_CEIL(rte_rcu_qsbr_get_memsize(readers), RTE_CACHE_LINE_SIZE);
  qsbr_ = static_cast<rte_rcu_qsbr*>(std::aligned_alloc(RTE_CACHE_LINE_SIZE, size));
  if (qsbr_ != nullptr) std::memset(qsbr_, 0, size);
  if (qsbr_ == nullptr || rte_rcu_qsbr_init(qsbr_, readers) != 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot set up the workers' conf (RCU) for ", readers, " readers"));
  }
  for (unsigned r = 0; r < readers; ++r) rte_rcu_qsbr_thread_register(qsbr_, r);
  return absl::OkStatus();
}

void SharedConf::Update(absl::FunctionRef<void(WorkerShared&)> change) {
  const WorkerShared* old = current_.load(std::memory_order_relaxed);
  WorkerShared& next = old == &slots_[0] ? slots_[1] : slots_[0];
  next = *old;
  change(next);
  current_.store(&next, std::memory_order_release);
  // Every reader online now has loaded `next` once it reports this token.
  if (qsbr_ != nullptr) rte_rcu_qsbr_check(qsbr_, rte_rcu_qsbr_start(qsbr_), true);
}

}  // namespace drasyl::dpdk
