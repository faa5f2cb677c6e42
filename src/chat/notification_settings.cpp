#include "chat/notification_settings.hpp"

#include <unicode/timezone.h>
#include <unicode/unistr.h>

#include "chat/service.hpp"
#include "core/clock.hpp"

namespace parley::chat {
namespace {

std::unique_ptr<icu::TimeZone> load_zone(const std::string& timezone) {
  std::unique_ptr<icu::TimeZone> zone(icu::TimeZone::createTimeZone(icu::UnicodeString::fromUTF8(timezone)));
  // ICU answers an unknown id with "Etc/Unknown" rather than an error.
  if (!zone || *zone == icu::TimeZone::getUnknown()) return nullptr;
  return zone;
}

std::string hhmm(int minutes) {
  const int h = minutes / 60 % 24, m = minutes % 60;
  return {static_cast<char>('0' + h / 10), static_cast<char>('0' + h % 10), ':', static_cast<char>('0' + m / 10),
          static_cast<char>('0' + m % 10)};
}

// Reads (no fields) or changes the caller's do-not-disturb; every session of the caller hears
// of a change.
class AccountNotificationsOp final : public ChatOp {
 public:
  AccountNotificationsOp(ChatService& s, UserId caller, ReplyTarget t, const protocol::AccountNotificationsCmd& c)
      : ChatOp(s, caller, std::move(t)), cmd_(c) {}

 protected:
  Status run(store::WriteTxn& txn) override {
    if (cmd_.schedule_given && !cmd_.timezone.empty() && !known_timezone(cmd_.timezone))
      return field_error(ErrorCode::invalid_field, "schedule.timezone",
                         "'schedule.timezone' is not a time zone of the IANA database (e.g. Europe/Berlin)");
    const store::NotificationSettings before = txn.notification_settings(caller_);
    store::NotificationSettings settings = before;
    if (cmd_.dnd_until) settings.dnd_until = *cmd_.dnd_until;
    if (cmd_.schedule_given) {
      settings.timezone = cmd_.timezone;
      settings.quiet_start_min = cmd_.timezone.empty() ? 0 : cmd_.quiet_start_min;
      settings.quiet_end_min = cmd_.timezone.empty() ? 0 : cmd_.quiet_end_min;
    }
    const std::int64_t now = wall_clock_ms();
    if (settings != before) {
      txn.set_notification_settings(caller_, settings);
      std::string json;
      JsonWriter frame(json);
      frame.begin_object().field("type", "notification_settings").key("notifications");
      write_notification_settings(frame, settings, now);
      frame.end_object();
      Delivery d;
      d.to_users = {caller_};
      d.user_frame = gateway::make_text_frame(json);
      deliveries_.push_back(std::move(d));
    }
    JsonWriter w(reply_.fields);
    w.key("notifications");
    write_notification_settings(w, settings, now);
    return Ok{};
  }

 private:
  protocol::AccountNotificationsCmd cmd_;
};

}  // namespace

bool known_timezone(const std::string& timezone) { return load_zone(timezone) != nullptr; }

bool quiet_now(const store::NotificationSettings& settings, std::int64_t now_ms) {
  if (settings.dnd_until == -1 || settings.dnd_until > now_ms) return true;
  if (settings.timezone.empty()) return false;
  const auto zone = load_zone(settings.timezone);
  if (!zone) return false;  // a zone the database no longer has: no quiet hours rather than all quiet
  std::int32_t raw = 0, dst = 0;
  UErrorCode status = U_ZERO_ERROR;
  zone->getOffset(static_cast<UDate>(now_ms), false, raw, dst, status);
  if (U_FAILURE(status)) return false;
  const std::int64_t local_minutes = (now_ms + raw + dst) / 60000;  // floor for times after 1970
  const int minute = static_cast<int>(((local_minutes % 1440) + 1440) % 1440);
  const int start = settings.quiet_start_min, end = settings.quiet_end_min;
  return start < end ? (minute >= start && minute < end) : (minute >= start || minute < end);
}

void write_notification_settings(JsonWriter& w, const store::NotificationSettings& settings, std::int64_t now_ms) {
  w.begin_object().field("dnd_until", settings.dnd_until);
  if (settings.timezone.empty()) {
    w.key("schedule").null();
  } else {
    w.key("schedule").begin_object().field("timezone", settings.timezone);
    w.field("start", hhmm(settings.quiet_start_min)).field("end", hhmm(settings.quiet_end_min)).end_object();
  }
  w.field("quiet_now", quiet_now(settings, now_ms)).end_object();
}

std::unique_ptr<ChatOp> make_account_notifications_op(ChatService& service, UserId caller, ReplyTarget target,
                                                       const protocol::AccountNotificationsCmd& command) {
  return std::make_unique<AccountNotificationsOp>(service, caller, std::move(target), command);
}

}  // namespace parley::chat
