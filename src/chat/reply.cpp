#include "chat/reply.hpp"

#include "core/json_writer.hpp"

namespace parley::chat {

std::string reply_frame_json(const Reply& reply, const std::string& request_id) {
  std::string out;
  out.reserve(48 + request_id.size() + reply.fields.size());
  JsonWriter w(out);
  w.begin_object();
  if (reply.error) {
    w.field("type", "error");
    if (!request_id.empty()) w.key("id").raw(request_id);
    w.field("code", error_code_name(reply.error->code));
    w.field("message", reply.error->message);
    if (!reply.error->field.empty()) w.field("field", reply.error->field);
    if (reply.retry_after_ms > 0) w.field("retry_after_ms", reply.retry_after_ms);
  } else {
    w.field("type", reply.type);
    if (!request_id.empty()) w.key("id").raw(request_id);
    if (!reply.fields.empty()) w.raw(reply.fields);
  }
  w.end_object();
  return out;
}

gateway::HttpResponse reply_http(const Reply& reply) {
  gateway::HttpResponse response;
  if (reply.error) {
    response.status = error_http_status(reply.error->code);
    JsonWriter w(response.body);
    w.begin_object().key("error").begin_object();
    w.field("code", error_code_name(reply.error->code));
    w.field("message", reply.error->message);
    if (!reply.error->field.empty()) w.field("field", reply.error->field);
    if (reply.retry_after_ms > 0) {
      w.field("retry_after_ms", reply.retry_after_ms);
      response.headers.emplace_back("Retry-After", std::to_string((reply.retry_after_ms + 999) / 1000));
    }
    w.end_object().end_object();
  } else {
    response.body.reserve(reply.fields.size() + 2);
    response.body.push_back('{');
    response.body.append(reply.fields);
    response.body.push_back('}');
  }
  return response;
}

}  // namespace parley::chat
