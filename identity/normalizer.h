#pragma once
// Normalizer: turns a raw identifier from an event into the normalized Identifier that identity
// resolution matches on, or says why it is not one (DESIGN.md "Identity resolution", steps 1-2).
//
//   email         trimmed, lower-cased, checked: one '@', a local part of 1..64 bytes, a domain
//                 with a dot and no empty label, no whitespace, at most 254 bytes
//   phone         parsed with libphonenumber (default region from the options) to E.164
//                 ("+14155550100"); must be valid, or possible if require_valid_phone is false
//   anything else trimmed
//
// Every value must be well-formed UTF-8 without ASCII control characters, non-empty and at most
// kMaxValueBytes once trimmed. Blocked patterns are checked on the trimmed value (so "null" is
// blocked, not an invalid email) and again on the normalized value.
//
// A rejected value is an ordinary outcome, not an error: the event is kept and the caller counts
// the rejection by type and outcome. Results never contain the rejected value.
//
// Thread safety: Normalize is const and safe to call concurrently.

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "identity/identifier.h"
#include "identity/identity_options.h"

namespace cdp::identity {

enum class NormalizeOutcome {
  kOk,           // the value is an identifier
  kInvalid,      // malformed for its type (not an email, not a phone number, bad UTF-8...)
  kBlocked,      // matches a blocked pattern ("null", "0", "[object Object]"...)
  kUnknownType,  // the type is neither built in nor configured
  kTooLong,      // longer than kMaxValueBytes (254 for email) once trimmed
};

// Stable snake_case name, fit for a metric label: "ok", "invalid", "blocked", "unknown_type",
// "too_long".
absl::string_view NormalizeOutcomeName(NormalizeOutcome outcome);

struct NormalizeResult {
  NormalizeOutcome outcome = NormalizeOutcome::kInvalid;
  // The normalized identifier; only set when outcome is kOk.
  Identifier identifier;
  // Why the value was rejected: a fixed phrase with static storage ("email has no @"), empty
  // for kOk. Never contains the value, so it may be logged and used as a metric label.
  absl::string_view reason;
  // For kBlocked, the index of the matching pattern in IdentityOptions::BlockedPatternsFor(type);
  // -1 otherwise.
  int blocked_pattern_index = -1;

  bool ok() const { return outcome == NormalizeOutcome::kOk; }
};

// For callers that do want an error (an operator looking a profile up by email): the identifier
// when result.ok(), otherwise kInvalidArgument naming the outcome and reason (never the value).
absl::StatusOr<Identifier> ToStatusOr(NormalizeResult result);

class Normalizer {
 public:
  // kInvalidArgument when options.Validate() fails. The options are not referenced afterwards.
  static absl::StatusOr<std::unique_ptr<Normalizer>> Create(const IdentityOptions& options);

  ~Normalizer();
  Normalizer(const Normalizer&) = delete;
  Normalizer& operator=(const Normalizer&) = delete;

  // Normalizes `raw` as an identifier of type `type`. Never fails: rejections are outcomes.
  NormalizeResult Normalize(absl::string_view type, absl::string_view raw) const;

  // True for built-in types and the configured custom types.
  bool IsKnownType(absl::string_view type) const { return rules_.contains(type); }

 private:
  struct TypeRules;  // how one type is normalized and filtered; defined in normalizer.cc

  Normalizer(std::string default_phone_region, bool require_valid_phone,
             absl::flat_hash_map<std::string, std::unique_ptr<const TypeRules>> rules);

  // Sets *result to kBlocked and returns true when a blocked pattern of `rules` matches `value`.
  bool CheckBlocked(const TypeRules& rules, absl::string_view value, NormalizeResult* result) const;
  // Puts the E.164 form of `value` in result->identifier.value and returns true, or sets *result
  // to the rejection and returns false.
  bool NormalizePhone(absl::string_view value, NormalizeResult* result) const;

  const std::string default_phone_region_;
  const bool require_valid_phone_;
  const absl::flat_hash_map<std::string, std::unique_ptr<const TypeRules>> rules_;
};

}  // namespace cdp::identity
