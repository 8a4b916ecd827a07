#include "control/peer_registry.h"

#include <algorithm>

#include "glog/logging.h"

namespace drasyl {

void PeerRecord::SetEndpoints(absl::Span<const wire::Endpoint> e) {
  const size_t n = std::min(e.size(), wire::kMaxEndpoints);
  if (n != endpoint_count_) {
    endpoints_ = n == 0 ? nullptr : std::make_unique<wire::Endpoint[]>(n);
    endpoint_count_ = static_cast<uint8_t>(n);
  }
  std::copy_n(e.begin(), n, endpoints_.get());
}

PeerRegistry::PeerRegistry()
    : index_(0, IndexHash{this}, IndexEq{this}) {}

PeerRecord* PeerRegistry::Find(const PublicKey& key) {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &At(*it);
}

const PeerRecord* PeerRegistry::Find(const PublicKey& key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &At(*it);
}

PeerRecord& PeerRegistry::Insert(const PublicKey& key) {
  uint32_t i;
  if (!free_.empty()) {
    i = free_.back();
    free_.pop_back();
  } else {
    if ((high_water_ >> kChunkBits) == chunks_.size()) {
      chunks_.push_back(std::make_unique<PeerRecord[]>(kChunkRecords));
    }
    i = high_water_++;
  }
  PeerRecord& rec = At(i);
  rec.key = key;  // before the index hashes record i
  rec.number_ = i;
  rec.live_ = true;
  const bool inserted = index_.insert(i).second;
  DCHECK(inserted) << "key already registered";
  return rec;
}

void PeerRegistry::Erase(PeerRecord& rec) {
  DCHECK(rec.live_);
  const uint32_t i = rec.number_;
  index_.erase(i);  // while the record still holds its key
  rec = PeerRecord{};
  free_.push_back(i);
}

size_t PeerRegistry::MemoryBytes() const {
  return chunks_.size() * kChunkRecords * sizeof(PeerRecord) +
         index_.capacity() * (sizeof(uint32_t) + 1) + free_.capacity() * sizeof(uint32_t);
}

}  // namespace drasyl
