// users.search: finding people by a prefix of their username or display name (docs/protocol.md
// users.search). Contacts (users sharing an active direct or group conversation with the
// caller) come first, then the rest of the directory; users with `discoverable: false` are
// found by their contacts only. Runs on a reader thread in one snapshot.
//
// Matching is on folded terms (auth/search_terms.hpp) stored per user: "starts with the query"
// is the byte range [query, prefix_upper_bound(query)) of an index, on every engine. A user
// matching through several terms is listed once, at its smallest matching term; pages are
// ordered by (term, user id), which is also the cursor, so paging never repeats or skips a user.
#include <simdjson.h>

#include <algorithm>
#include <unordered_set>

#include "auth/search_terms.hpp"
#include "chat/reads.hpp"
#include "core/base64.hpp"
#include "core/json_writer.hpp"

namespace parley::chat {
namespace {

// Where a page ended: among the contacts ('c') or in the directory ('d'), at (term, user).
struct SearchCursor {
  char phase = 'c';
  std::string term;
  UserId user = 0;
};

// Opaque to clients: base64url of "PHASE\nUSER\nQUERY\nTERM". It carries the folded query it
// belongs to, so a cursor given with another query is refused instead of paging nonsense.
std::string encode_cursor(const SearchCursor& cursor, const std::string& query) {
  return base64url_encode(std::string(1, cursor.phase) + "\n" + std::to_string(cursor.user) + "\n" + query + "\n" +
                          cursor.term);
}

std::optional<SearchCursor> decode_cursor(const std::string& text, const std::string& query) {
  auto bytes = base64url_decode(text);
  if (!bytes) return std::nullopt;
  const std::string& b = *bytes;
  const auto first = b.find('\n');
  const auto second = first == std::string::npos ? first : b.find('\n', first + 1);
  if (first != 1 || second == std::string::npos || (b[0] != 'c' && b[0] != 'd')) return std::nullopt;
  if (b.compare(second + 1, query.size(), query) != 0 || b.size() < second + 1 + query.size() + 1 ||
      b[second + 1 + query.size()] != '\n')
    return std::nullopt;
  SearchCursor cursor;
  cursor.phase = b[0];
  try {
    cursor.user = std::stoll(b.substr(first + 1, second - first - 1));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  cursor.term = b.substr(second + 1 + query.size() + 1);
  // Every term a page ends at starts with the query; and it goes to the store as text.
  if (cursor.term.compare(0, query.size(), query) != 0 || !simdjson::validate_utf8(cursor.term.data(), cursor.term.size()))
    return std::nullopt;
  return cursor;
}

bool after(const store::UserSearchHit& hit, const std::string& term, UserId user) {
  return hit.term > term || (hit.term == term && hit.user.id > user);
}

struct Found {
  store::UserSearchHit hit;
  bool contact = false;
};

}  // namespace

Result<Reply> users_search(store::ReadTxn& txn, UserId caller, const protocol::UsersSearchCmd& cmd) {
  const std::string query = auth::fold_search_query(cmd.query);
  if (query.empty()) return field_error(ErrorCode::invalid_field, "q", "'q' must not be only spaces");
  SearchCursor cursor;
  if (!cmd.cursor.empty()) {
    auto decoded = decode_cursor(cmd.cursor, query);
    if (!decoded) return field_error(ErrorCode::invalid_field, "cursor", "'cursor' is not a cursor of this query");
    cursor = std::move(*decoded);
  }
  const std::string high = auth::prefix_upper_bound(query);
  const std::size_t wanted = static_cast<std::size_t>(cmd.limit) + 1;  // one more tells has_more
  std::vector<Found> found;
  // No stored term reaches past U+10FFFF (names never hold noncharacters): nothing matches.
  if (!high.empty()) {
    // Contacts first: every match among them (a user's contacts are few), in (term, id) order.
    auto contacts = txn.search_contacts(caller, query, high);
    std::sort(contacts.begin(), contacts.end(), [](const auto& a, const auto& b) {
      return a.term < b.term || (a.term == b.term && a.user.id < b.user.id);
    });
    std::unordered_set<UserId> contact_ids;
    for (const auto& c : contacts) contact_ids.insert(c.user.id);
    if (cursor.phase == 'c')
      for (auto& c : contacts)
        if (found.size() < wanted && after(c, cursor.term, cursor.user)) found.push_back({std::move(c), true});
    // Then the directory, skipping the contacts already listed, read in pieces until the page
    // is full or the matches run out.
    std::string after_term = cursor.phase == 'd' ? cursor.term : std::string();
    UserId after_user = cursor.phase == 'd' ? cursor.user : 0;
    while (found.size() < wanted) {
      const int batch = static_cast<int>(wanted - found.size());
      auto hits = txn.search_directory(query, high, after_term, after_user, caller, batch);
      for (auto& hit : hits) {
        after_term = hit.term;
        after_user = hit.user.id;
        if (!contact_ids.count(hit.user.id)) found.push_back({std::move(hit), false});
      }
      if (static_cast<int>(hits.size()) < batch) break;
    }
  }
  const bool has_more = found.size() > static_cast<std::size_t>(cmd.limit);
  if (has_more) found.resize(static_cast<std::size_t>(cmd.limit));
  Reply reply;
  JsonWriter w(reply.fields);
  w.key("users").begin_array();
  for (const auto& f : found) {
    const store::UserRecord& u = f.hit.user;
    w.begin_object().field("id", u.id).field("username", u.username).field("display_name", u.display_name);
    w.field("created_at", u.created_at_ms).field("contact", f.contact).end_object();
  }
  w.end_array();
  w.field("has_more", has_more);
  if (has_more) {
    const Found& last = found.back();
    w.field("cursor", encode_cursor(SearchCursor{last.contact ? 'c' : 'd', last.hit.term, last.hit.user.id}, query));
  }
  return reply;
}

}  // namespace parley::chat
