// Files (docs/protocol.md media.upload, media.complete, media.urls): upload (a file, to attach
// later with `send --media`), get (a media's file, into a file or stdout). `send --file` lives
// with send (commands_messages.cpp).
#include <cstdio>

#include <fmt/format.h>

#include "commands.hpp"
#include "output.hpp"
#include "transfers.hpp"

namespace parley::cli {
namespace {

struct UploadArgs {
  std::string path;
  std::string content_type;
};

struct GetArgs {
  std::string media_id;
  std::string out_path;
};

Status run_upload(Context& context, const UploadArgs& args) {
  if (auto readable = check_readable_file(args.path); !readable) return readable;
  auto session = context.open_session();
  if (!session) return session.take_error();
  auto media = upload_with_progress(**session, args.path, args.content_type);
  if (!media) return media.take_error();
  if (context.json()) print_line(media_json(*media));
  else print_line("uploaded " + media_summary(*media));
  return Done{};
}

Status run_get(Context& context, const GetArgs& args) {
  const bool to_stdout = args.out_path == "-";
  auto session = context.open_session();
  if (!session) return session.take_error();
  client::DownloadOptions options;
  options.progress = progress_line("downloading " + args.media_id);
  client::BodySink sink;
  if (to_stdout)
    sink = [](std::string_view piece) { return std::fwrite(piece.data(), 1, piece.size(), stdout) == piece.size(); };
  auto bytes = (*session)->download(args.media_id, to_stdout ? std::string() : args.out_path, sink, options);
  finish_progress();
  if (to_stdout && std::fflush(stdout) != 0) return usage_error("cannot write to stdout");
  if (!bytes) return bytes.take_error();
  if (to_stdout) return Done{};
  if (context.json()) {
    std::string out;
    JsonWriter(out).begin_object().field("media_id", args.media_id).field("path", args.out_path).field("size", *bytes).end_object();
    print_line(out);
  } else {
    print_line(fmt::format("saved media {} to {} ({})", args.media_id, args.out_path,
                           human_size(static_cast<std::int64_t>(*bytes))));
  }
  return Done{};
}

}  // namespace

void add_media_commands(CLI::App& app, Action& chosen) {
  auto upload_args = std::make_shared<UploadArgs>();
  auto* upload = app.add_subcommand("upload", "upload a file; prints its media id, for `send --media ID`");
  upload->add_option("PATH", upload_args->path, "the file")->required();
  upload->add_option("--type", upload_args->content_type,
                     "its content type, e.g. image/png (default: from the file name's extension)");
  on_chosen(upload, chosen, [upload_args](Context& c) { return run_upload(c, *upload_args); });

  auto get_args = std::make_shared<GetArgs>();
  auto* get = app.add_subcommand("get", "download the file of a media id (an attachment of a message you can see)");
  get->add_option("MEDIA_ID", get_args->media_id, "the media id (history and tail show it)")->required();
  get->add_option("-o,--output", get_args->out_path, "where to write it ('-': stdout); written complete or not at all")
      ->required();
  on_chosen(get, chosen, [get_args](Context& c) { return run_get(c, *get_args); });
}

}  // namespace parley::cli
