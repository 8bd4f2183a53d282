#include "identity/normalizer.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "identity/internal/blocked_pattern.h"
#include "identity/internal/text.h"
#include "phonenumbers/phonenumberutil.h"

namespace cdp::identity {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {

// RFC 5321: a path holds at most 256 octets including the angle brackets, so an address at most
// 254; a local part at most 64.
constexpr size_t kMaxEmailBytes = 254;
constexpr size_t kMaxEmailLocalPartBytes = 64;

enum class Kind { kEmail, kPhone, kTrimmed };

void Reject(NormalizeOutcome outcome, absl::string_view reason, NormalizeResult* result) {
  result->outcome = outcome;
  result->reason = reason;
}

// Returns the reason `email` (already trimmed and lower-cased) is not an address, or "".
absl::string_view EmailProblem(absl::string_view email) {
  if (internal::ContainsWhitespace(email)) return "email contains whitespace";
  size_t at = email.find('@');
  if (at == absl::string_view::npos) return "email has no @";
  if (email.find('@', at + 1) != absl::string_view::npos) return "email has more than one @";
  absl::string_view local = email.substr(0, at);
  absl::string_view domain = email.substr(at + 1);
  if (local.empty()) return "email local part is empty";
  if (local.size() > kMaxEmailLocalPartBytes) return "email local part is longer than 64 bytes";
  if (domain.find('.') == absl::string_view::npos) return "email domain has no dot";
  if (domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != absl::string_view::npos) {
    return "email domain has an empty label";
  }
  return "";
}

absl::string_view PhoneParseProblem(PhoneNumberUtil::ErrorType error) {
  switch (error) {
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      return "phone has no valid country code";
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
    case PhoneNumberUtil::TOO_SHORT_NSN:
      return "phone is too short";
    case PhoneNumberUtil::TOO_LONG_NSN:
      return "phone is too long";
    default:
      return "phone is not a number";
  }
}

// Blocked patterns compiled in order, one by one and as one set (which answers in one pass).
struct CompiledBlocked {
  std::vector<std::shared_ptr<const RE2>> each;
  std::shared_ptr<const RE2::Set> set;  // null when there are no patterns
};

absl::StatusOr<CompiledBlocked> CompileAll(const std::vector<std::string>& patterns) {
  CompiledBlocked compiled;
  compiled.each.reserve(patterns.size());
  for (const std::string& pattern : patterns) {
    CDP_ASSIGN_OR_RETURN(std::shared_ptr<const RE2> re, internal::CompileBlockedPattern(pattern));
    compiled.each.push_back(std::move(re));
  }
  if (!patterns.empty()) {
    CDP_ASSIGN_OR_RETURN(compiled.set, internal::CompileBlockedSet(patterns));
  }
  return compiled;
}

}  // namespace

struct Normalizer::TypeRules {
  std::string name;
  Kind kind = Kind::kTrimmed;
  // Compiled BlockedPatternsFor(name); shared between types that use the defaults.
  CompiledBlocked blocked;
};

absl::string_view NormalizeOutcomeName(NormalizeOutcome outcome) {
  switch (outcome) {
    case NormalizeOutcome::kOk:
      return "ok";
    case NormalizeOutcome::kInvalid:
      return "invalid";
    case NormalizeOutcome::kBlocked:
      return "blocked";
    case NormalizeOutcome::kUnknownType:
      return "unknown_type";
    case NormalizeOutcome::kTooLong:
      return "too_long";
  }
  return "unknown_outcome";
}

absl::StatusOr<Identifier> ToStatusOr(NormalizeResult result) {
  if (result.ok()) return std::move(result.identifier);
  // No type either: the caller has it, and an unknown "type" may be event data.
  return absl::InvalidArgumentError(absl::StrCat(
      "identifier rejected (", NormalizeOutcomeName(result.outcome), "): ", result.reason));
}

absl::StatusOr<std::unique_ptr<Normalizer>> Normalizer::Create(const IdentityOptions& options) {
  CDP_RETURN_IF_ERROR(options.Validate());
  CDP_ASSIGN_OR_RETURN(CompiledBlocked default_blocked,
                       CompileAll(options.default_blocked_patterns));
  absl::flat_hash_map<std::string, std::unique_ptr<const TypeRules>> rules;
  for (const std::string& type : options.KnownTypes()) {
    auto type_rules = std::make_unique<TypeRules>();
    type_rules->name = type;
    if (type == kEmail) type_rules->kind = Kind::kEmail;
    if (type == kPhone) type_rules->kind = Kind::kPhone;
    if (auto it = options.blocked_patterns_by_type.find(type);
        it != options.blocked_patterns_by_type.end()) {
      CDP_ASSIGN_OR_RETURN(type_rules->blocked, CompileAll(it->second));
    } else {
      type_rules->blocked = default_blocked;
    }
    rules.emplace(type, std::move(type_rules));
  }
  return std::unique_ptr<Normalizer>(
      new Normalizer(options.default_phone_region, options.require_valid_phone, std::move(rules)));
}

Normalizer::Normalizer(std::string default_phone_region, bool require_valid_phone,
                       absl::flat_hash_map<std::string, std::unique_ptr<const TypeRules>> rules)
    : default_phone_region_(std::move(default_phone_region)),
      require_valid_phone_(require_valid_phone),
      rules_(std::move(rules)) {}

Normalizer::~Normalizer() = default;

NormalizeResult Normalizer::Normalize(absl::string_view type, absl::string_view raw) const {
  NormalizeResult result;
  auto it = rules_.find(type);
  if (it == rules_.end()) {
    Reject(NormalizeOutcome::kUnknownType, "identifier type is not configured", &result);
    return result;
  }
  const TypeRules& rules = *it->second;

  // Length first, so a hostile value costs at most kMaxValueBytes of work past its padding.
  absl::string_view trimmed = internal::TrimWhitespace(raw);
  if (trimmed.size() > kMaxValueBytes) {
    Reject(NormalizeOutcome::kTooLong, "value is longer than 256 bytes", &result);
    return result;
  }
  if (!internal::IsValidUtf8(trimmed)) {
    Reject(NormalizeOutcome::kInvalid, "value is not valid UTF-8", &result);
    return result;
  }
  if (internal::ContainsControlCharacter(trimmed)) {
    Reject(NormalizeOutcome::kInvalid, "value contains a control character", &result);
    return result;
  }
  if (CheckBlocked(rules, trimmed, &result)) return result;
  // The default patterns block it first; this holds when a type's patterns were replaced.
  if (trimmed.empty()) {
    Reject(NormalizeOutcome::kInvalid, "value is empty", &result);
    return result;
  }

  switch (rules.kind) {
    case Kind::kEmail: {
      if (trimmed.size() > kMaxEmailBytes) {
        Reject(NormalizeOutcome::kTooLong, "email is longer than 254 bytes", &result);
        return result;
      }
      std::string email = absl::AsciiStrToLower(trimmed);
      if (absl::string_view problem = EmailProblem(email); !problem.empty()) {
        Reject(NormalizeOutcome::kInvalid, problem, &result);
        return result;
      }
      result.identifier.value = std::move(email);
      break;
    }
    case Kind::kPhone:
      if (!NormalizePhone(trimmed, &result)) return result;
      break;
    case Kind::kTrimmed:
      result.identifier.value = std::string(trimmed);
      break;
  }
  if (result.identifier.value != trimmed && CheckBlocked(rules, result.identifier.value, &result)) {
    result.identifier.value.clear();
    return result;
  }
  result.outcome = NormalizeOutcome::kOk;
  result.identifier.type = rules.name;
  return result;
}

bool Normalizer::CheckBlocked(const TypeRules& rules, absl::string_view value,
                              NormalizeResult* result) const {
  if (!rules.blocked.set) return false;
  const int index = internal::FirstWholeMatch(*rules.blocked.set, rules.blocked.each, value);
  if (index < 0) return false;
  Reject(NormalizeOutcome::kBlocked, "value matches a blocked pattern", result);
  result->blocked_pattern_index = index;
  return true;
}

bool Normalizer::NormalizePhone(absl::string_view value, NormalizeResult* result) const {
  // Thread-safe singleton owned by libphonenumber; it never logs the numbers it parses.
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  PhoneNumberUtil::ErrorType error = util.Parse(std::string(value), default_phone_region_, &number);
  if (error != PhoneNumberUtil::NO_PARSING_ERROR) {
    Reject(NormalizeOutcome::kInvalid, PhoneParseProblem(error), result);
    return false;
  }
  if (require_valid_phone_ ? !util.IsValidNumber(number) : !util.IsPossibleNumber(number)) {
    Reject(NormalizeOutcome::kInvalid,
           require_valid_phone_ ? "phone is not a valid number" : "phone is not a possible number",
           result);
    return false;
  }
  util.Format(number, PhoneNumberUtil::E164, &result->identifier.value);
  return true;
}

}  // namespace cdp::identity
