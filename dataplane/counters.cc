#include "dataplane/counters.h"

namespace drasyl {

const char* DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kTooShort: return "too_short";
    case DropReason::kBadMagic: return "bad_magic";
    case DropReason::kBadType: return "bad_type";
    case DropReason::kWrongNetwork: return "wrong_network";
    case DropReason::kRelayNotApp: return "relay_not_app";
    case DropReason::kLoopback: return "loopback";
    case DropReason::kHopLimit: return "hop_limit";
    case DropReason::kUnknownRecipient: return "unknown_recipient";
    case DropReason::kUnverifiedSender: return "unverified_sender";
    case DropReason::kOversized: return "oversized";
    case DropReason::kControlRingFull: return "control_ring_full";
    case DropReason::kTxFailed: return "tx_failed";
    case DropReason::kNotForUs: return "not_for_us";
    case DropReason::kUnknownVlan: return "unknown_vlan";
    case DropReason::kStackedVlan: return "stacked_vlan";
    case DropReason::kSourceRateLimited: return "source_rate_limited";
    case DropReason::kArmMismatch: return "arm_mismatch";
    case DropReason::kPeerTableFull: return "peer_table_full";
    case DropReason::kPowInvalid: return "pow_invalid";
    case DropReason::kInvalidKey: return "invalid_key";
    case DropReason::kNotHello: return "not_hello";
    case DropReason::kBadTag: return "bad_tag";
    case DropReason::kBadHello: return "bad_hello";
    case DropReason::kHelloTooOld: return "hello_too_old";
    case DropReason::kReplayedHello: return "replayed_hello";
    case DropReason::kSourcePeerLimit: return "source_peer_limit";
    case DropReason::kSourceKeyExchangeLimit: return "source_key_exchange_limit";
    case DropReason::kTcpOutputFull: return "tcp_output_full";
    case DropReason::kBadChecksum: return "bad_checksum";
    case DropReason::kMalformedFrame: return "malformed_frame";
    case DropReason::kBadSource: return "bad_source";
    case DropReason::kFragmentTableFull: return "fragment_table_full";
    case DropReason::kFragmentTimeout: return "fragment_timeout";
    case DropReason::kBadFragment: return "bad_fragment";
    case DropReason::kBadFragmentSet: return "bad_fragment_set";
    case DropReason::kFragmentAllocFailed: return "fragment_alloc_failed";
    case DropReason::kTooBigToFragment: return "too_big_to_fragment";
    case DropReason::kTruncatedFrame: return "truncated_frame";
    case DropReason::kNoKernelPath: return "no_kernel_path";
    case DropReason::kCount: break;
  }
  return "unknown";
}

}  // namespace drasyl
