#include "media/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace parley::media {
namespace {

// In the child between fork and exec only async-signal-safe calls are allowed (parleyd has
// many threads; a lock another thread held at fork time stays locked in the child): no
// allocation, no logging. Any failure ends the child with 127.
[[noreturn]] void exec_child(char* const* argv, char* const* envp, int out_fd, int err_fd, const SandboxLimits& limits) {
  auto fail = [] { _exit(127); };
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail();
  const int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) fail();
  // Nothing else parleyd has open (sockets, the database, keys) reaches the child.
  if (close_range(3, ~0U, 0) != 0) fail();
  const auto limit = [&](int resource, std::uint64_t value) {
    rlimit r{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
    if (setrlimit(resource, &r) != 0) fail();
  };
  limit(RLIMIT_AS, static_cast<std::uint64_t>(limits.address_space_bytes));
  limit(RLIMIT_CPU, static_cast<std::uint64_t>(limits.cpu_seconds));
  limit(RLIMIT_FSIZE, static_cast<std::uint64_t>(limits.max_file_bytes));
  limit(RLIMIT_CORE, 0);
  limit(RLIMIT_NOFILE, 64);
  // Default signal dispositions (parleyd ignores SIGPIPE, and exec keeps ignored signals
  // ignored) and no blocked signals. sigaction, not signal(): only the former is async-signal-safe.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &default_action, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execve(argv[0], argv, envp);
  fail();
  _exit(127);
}

void append_capped(std::string& to, const char* data, std::size_t size, std::size_t cap) {
  if (to.size() < cap) to.append(data, std::min(size, cap - to.size()));
}

}  // namespace

Result<SandboxOutcome> run_sandboxed(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                                     const SandboxLimits& limits) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/')
    return make_error(ErrorCode::internal, "run_sandboxed: argv[0] must be an absolute path");
  // Everything the child needs is built before fork (no allocation after it).
  std::vector<char*> child_argv;
  for (const auto& a : argv) child_argv.push_back(const_cast<char*>(a.c_str()));
  child_argv.push_back(nullptr);
  std::vector<char*> child_env;
  for (const auto& e : env) child_env.push_back(const_cast<char*>(e.c_str()));
  child_env.push_back(nullptr);

  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return make_error(ErrorCode::internal, std::string("pipe: ") + std::strerror(errno));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return make_error(ErrorCode::internal, std::string("pipe: ") + std::strerror(errno));
  }
  const pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    return make_error(ErrorCode::internal, std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) exec_child(child_argv.data(), child_env.data(), out_pipe[1], err_pipe[1], limits);
  close(out_pipe[1]);
  close(err_pipe[1]);

  SandboxOutcome outcome;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limits.timeout_ms);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buffer[16384];
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      outcome.timed_out = true;
      break;
    }
    const int ready = poll(fds, 2, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        append_capped(i == 0 ? outcome.out : outcome.err, buffer, static_cast<std::size_t>(n), limits.max_output_bytes);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(fds[i].fd);
        fds[i].fd = -1;  // poll ignores negative descriptors
        --open_fds;
      }
    }
  }
  for (auto& p : fds)
    if (p.fd >= 0) close(p.fd);
  // The pipes closing does not mean the child has exited (it may have closed them itself):
  // wait for it, but no longer than the deadline.
  if (outcome.timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return make_error(ErrorCode::internal, std::string("waitpid: ") + std::strerror(errno));
    if (!outcome.timed_out && std::chrono::steady_clock::now() >= deadline) {
      outcome.timed_out = true;
      kill(pid, SIGKILL);
    }
    usleep(1000);
  }
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
  return outcome;
}

}  // namespace parley::media
