#include "harness.hpp"

#include <signal.h>
#include <simdjson.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <stdexcept>

#include "client/http_client.hpp"
#include "core/json_writer.hpp"

namespace parley::bench {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

ProcessSample sample_process(int pid) {
  ProcessSample sample;
  if (pid <= 0) return sample;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the ")" that ends the command name: state is field 3; utime 14, stime 15.
  auto close = content.rfind(')');
  if (close != std::string::npos) {
    std::istringstream fields(content.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    sample.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) sample.rss_kb = std::stoll(line.substr(6));
  return sample;
}

ProcessSample Target::sample() const {
  ProcessSample total;
  for (int pid : pids_) {
    const ProcessSample one = sample_process(pid);
    total.cpu_seconds += one.cpu_seconds;
    total.rss_kb += one.rss_kb;
  }
  return total;
}

Target::Target(const CommonOptions& options) : admin_token_(options.admin_token) {
  for (int pid : options.server_pids)
    if (pid > 0) pids_.push_back(pid);
  if (options.spawn_server.empty()) {
    if (options.server_urls.empty()) throw std::runtime_error("give --server URL or --spawn-server PATH");
    for (const auto& url : options.server_urls) {
      std::string host, port;
      if (!client::split_http_url(url, host, port)) throw std::runtime_error("not an http:// URL: " + url);
      urls_.push_back(url);
    }
    return;
  }
  if (!options.server_urls.empty()) throw std::runtime_error("give --server or --spawn-server, not both");
  char dir_template[] = "/tmp/parley-bench-XXXXXX";
  if (!mkdtemp(dir_template)) throw std::runtime_error("mkdtemp failed");
  data_dir_ = dir_template;
  // A free port: bind to 0, read it back, release it.
  int port = 0;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }
  urls_ = {"http://127.0.0.1:" + std::to_string(port)};
  std::vector<std::string> args = {options.spawn_server,
                                   "--listen", "127.0.0.1:" + std::to_string(port),
                                   "--data-dir", data_dir_,
                                   "--auth.admin_token", admin_token_,
                                   // Load generators send far faster than people, from a few loopback
                                   // addresses: lift the per-session, per-user and per-address limits.
                                   "--limits.frames_per_second", "10000000", "--limits.frames_burst", "10000000",
                                   "--limits.user_requests_per_second", "10000000",
                                   "--limits.user_requests_burst", "10000000",
                                   "--limits.max_connections_per_address", "10000000",
                                   "--limits.max_pending_per_address", "10000000",
                                   "--auth.signups_per_address_per_hour", "1000000",
                                   "--server.log_level", "warn"};
  args.insert(args.end(), options.server_args.begin(), options.server_args.end());
  const int pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log = data_dir_ + "/parleyd.log";
    freopen(log.c_str(), "a", stderr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  spawned_ = true;
  pids_ = {pid};
  for (int i = 0; i < 300; ++i) {
    auto r = client::http_request(url(), "GET", "/readyz", "", "", 1000);
    if (r.status == 200) return;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) throw std::runtime_error("the spawned parleyd exited; see " + data_dir_);
    usleep(50000);
  }
  throw std::runtime_error("the spawned parleyd did not become ready");
}

Target::~Target() {
  if (!spawned_) return;
  kill(pids_.front(), SIGTERM);
  int status = 0;
  waitpid(pids_.front(), &status, 0);
  std::error_code ec;
  std::filesystem::remove_all(data_dir_, ec);
}

client::Endpoint Target::endpoint(std::size_t server) const {
  client::Endpoint e;
  std::string port;
  client::split_http_url(urls_[server % urls_.size()], e.host, port);
  e.port = static_cast<std::uint16_t>(std::stoi(port));
  return e;
}

std::string Target::call(const std::string& method, const std::string& path, const std::string& body,
                         const std::string& token) {
  auto r = client::http_request(url(), method, path, body, token, 120000);
  if (r.status == 0) throw std::runtime_error(method + " " + path + ": " + r.error);
  if (r.status >= 300) throw std::runtime_error(method + " " + path + ": HTTP " + std::to_string(r.status) + " " + r.body);
  return r.body;
}

std::vector<BenchUser> Target::create_users(int count, const std::string& prefix) {
  std::vector<BenchUser> users;
  simdjson::dom::parser parser;
  for (int start = 0; start < count; start += 1000) {
    std::string body;
    JsonWriter w(body);
    w.begin_object().field("issue_tokens", true).key("users").begin_array();
    for (int i = start; i < std::min(count, start + 1000); ++i)
      w.begin_object().field("username", prefix + std::to_string(i)).end_object();
    w.end_array().end_object();
    const std::string response = call("POST", "/v1/admin/users", body, admin_token_);
    simdjson::dom::element doc;
    if (parser.parse(response).get(doc) != simdjson::SUCCESS) throw std::runtime_error("bad admin response");
    for (simdjson::dom::element u : doc["users"].get_array()) {
      std::string_view error;
      if (u["error"].get_string().get(error) == simdjson::SUCCESS)
        throw std::runtime_error("creating users failed: " + std::string(error));
      BenchUser user;
      user.id = u["id"].get_int64().value();
      user.username = std::string(u["username"].get_string().value());
      user.token = std::string(u["token"].get_string().value());
      users.push_back(std::move(user));
    }
  }
  return users;
}

ClientThreads::ClientThreads(int count) {
  for (int i = 0; i < std::max(1, count); ++i) {
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.emplace_back(contexts_.back()->get_executor());
  }
  for (auto& context : contexts_) threads_.emplace_back([c = context.get()] { c->run(); });
}

ClientThreads::~ClientThreads() { stop(); }

boost::asio::io_context& ClientThreads::next() { return *contexts_[next_++ % contexts_.size()]; }

void ClientThreads::run_everywhere(const std::function<void(std::size_t)>& task) {
  std::vector<std::future<void>> done;
  for (std::size_t i = 0; i < contexts_.size(); ++i) {
    auto promise = std::make_shared<std::promise<void>>();
    done.push_back(promise->get_future());
    boost::asio::post(*contexts_[i], [task, i, promise] {
      task(i);
      promise->set_value();
    });
  }
  for (auto& f : done) f.wait();
}

void ClientThreads::stop() {
  for (auto& guard : guards_) guard.reset();
  for (auto& context : contexts_) context->stop();
  for (auto& thread : threads_)
    if (thread.joinable()) thread.join();
  threads_.clear();
}

void Report::set(const std::string& section, const std::string& key, double value) {
  char buffer[64];
  if (value == static_cast<double>(static_cast<long long>(value)) && std::abs(value) < 1e15)
    std::snprintf(buffer, sizeof buffer, "%lld", static_cast<long long>(value));
  else
    std::snprintf(buffer, sizeof buffer, "%.3f", value);
  values_[section][key] = buffer;
}

void Report::set_text(const std::string& section, const std::string& key, const std::string& value) {
  std::string quoted;
  JsonWriter::append_escaped(quoted, value);
  values_[section][key] = quoted;
}

void Report::latency(const std::string& section, const Histogram& h) {
  set(section, "count", static_cast<double>(h.count()));
  set(section, "p50_ms", h.quantile(0.50) / 1000.0);
  set(section, "p90_ms", h.quantile(0.90) / 1000.0);
  set(section, "p99_ms", h.quantile(0.99) / 1000.0);
  set(section, "p999_ms", h.quantile(0.999) / 1000.0);
  set(section, "max_ms", h.max() / 1000.0);
  auto& curve = curves_[section];
  curve.clear();
  if (h.count() == 0) return;
  // Quantiles spaced evenly on the "nines" axis (x = 1 / (1 - q)) up to what the count supports.
  const double last = 1.0 - 1.0 / static_cast<double>(h.count());
  for (double nines = 0.3; nines <= 6.0; nines += 0.05) {
    const double q = 1.0 - std::pow(10.0, -nines);
    if (q > last) break;
    curve.emplace_back(q, h.quantile(q) / 1000.0);
  }
  curve.emplace_back(last, h.max() / 1000.0);
}

std::string Report::json() const {
  std::string out = "{\n  \"scenario\": \"" + scenario_ + "\"";
  for (const auto& [section, entries] : values_) {
    out += ",\n  \"" + section + "\": {";
    bool first = true;
    for (const auto& [key, value] : entries) {
      out += (first ? "" : ", ") + std::string("\"") + key + "\": " + value;
      first = false;
    }
    out += "}";
  }
  out += "\n}\n";
  return out;
}

void Report::write(const CommonOptions& options) const {
  const std::string text = json();
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (!options.out.empty()) {
    std::ofstream out(options.out);
    out << text;
  }
  if (!options.plot.empty()) plot(options.plot);
}

void Report::plot(const std::string& png) const {
  if (curves_.empty()) throw std::runtime_error("--plot: the " + scenario_ + " scenario measures no latency");
  // The data and the script go to files beside the PNG; gnuplot reads the script.
  const std::string data_path = png + ".dat", script_path = png + ".gp";
  {
    std::ofstream data(data_path);
    for (const auto& [section, curve] : curves_) {  // one gnuplot data block per section
      data << "# " << section << "\n";
      for (const auto& [q, ms] : curve) data << 1.0 / (1.0 - q) << " " << ms << "\n";
      data << "\n\n";
    }
  }
  std::ofstream script(script_path);
  script << "set terminal pngcairo size 900,540 noenhanced\n"
         << "set output '" << png << "'\n"
         << "set title 'parley-bench " << scenario_ << ": latency by percentile'\n"
         << "set logscale x\nset grid\nset key top left\n"
         << "set xlabel 'percentile'\nset ylabel 'ms'\nset yrange [0:*]\n"
         << "set xtics ('50%%' 2, '90%%' 10, '99%%' 100, '99.9%%' 1000, '99.99%%' 10000, '99.999%%' 100000)\n"
         << "plot ";
  int index = 0;
  for (const auto& entry : curves_) {
    script << (index ? ", " : "") << "'" << data_path << "' index " << index << " with lines lw 2 title '"
           << entry.first << "'";
    ++index;
  }
  script << "\n";
  script.close();
  const std::string command = "gnuplot '" + script_path + "'";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("--plot: gnuplot failed (" + command + ")");
  std::remove(data_path.c_str());
  std::remove(script_path.c_str());
}

void report_run(Report& report, const Target& target, const ProcessSample& server_before,
                const ProcessSample& server_after, const ProcessSample& bench_before, const ProcessSample& bench_after,
                double seconds) {
  utsname name{};
  uname(&name);
  report.set("machine", "cpus", static_cast<double>(std::thread::hardware_concurrency()));
  report.set_text("machine", "kernel", std::string(name.sysname) + " " + name.release);
  std::string urls;
  for (const auto& url : target.urls()) urls += (urls.empty() ? "" : ",") + url;
  report.set_text("machine", "server_url", urls);
  report.set("run", "seconds", seconds);
  if (target.pids().size() > 1) {  // several processes (cluster nodes): CPU and RSS are sums
    std::string pids;
    for (int pid : target.pids()) pids += (pids.empty() ? "" : ",") + std::to_string(pid);
    report.set_text("server", "pids", pids);
    report.set("server", "processes", static_cast<double>(target.pids().size()));
  }
  if (target.pids().size() == 1) report.set("server", "pid", target.pid());
  if (target.pid() > 0) {
    report.set("server", "cpu_percent", 100.0 * (server_after.cpu_seconds - server_before.cpu_seconds) / seconds);
    report.set("server", "rss_mb", server_after.rss_kb / 1024.0);
  }
  report.set("bench", "cpu_percent", 100.0 * (bench_after.cpu_seconds - bench_before.cpu_seconds) / seconds);
  report.set("bench", "rss_mb", bench_after.rss_kb / 1024.0);
}

bool wait_until(const std::function<bool()>& done, double timeout_s, const std::function<std::string()>& progress,
                bool quiet) {
  const auto start = std::chrono::steady_clock::now();
  auto next_print = start + std::chrono::seconds(1);
  while (!done()) {
    const auto now = std::chrono::steady_clock::now();
    if (now - start > std::chrono::duration<double>(timeout_s)) return false;
    if (now >= next_print && progress && !quiet) {
      std::fprintf(stderr, "\r%s   ", progress().c_str());
      next_print += std::chrono::seconds(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (progress && !quiet) std::fprintf(stderr, "\r%s   \n", progress().c_str());
  return true;
}

}  // namespace parley::bench
