// The label this browser gives its sign-ins ("Web · Firefox on Windows"): sent as `device` with
// register, login and hello, and shown in the account's device list (protocol 2.1, 2.7), where
// the user tells devices apart by it.

/** Browser names by user-agent token, most specific first (Edge and Opera also say "Chrome"). */
const BROWSERS: [RegExp, string][] = [
  [/Edg(e|A|iOS)?\//, 'Edge'],
  [/OPR\/|Opera/, 'Opera'],
  [/SamsungBrowser\//, 'Samsung Internet'],
  [/Firefox\/|FxiOS\//, 'Firefox'],
  [/Chromium\//, 'Chromium'],
  [/Chrome\/|CriOS\//, 'Chrome'],
  [/Safari\//, 'Safari'],
];

const SYSTEMS: [RegExp, string][] = [
  [/Android/, 'Android'],
  [/iPhone|iPad|iPod/, 'iOS'],
  [/Windows/, 'Windows'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/CrOS/, 'ChromeOS'],
  [/Linux/, 'Linux'],
];

function first(table: [RegExp, string][], agent: string): string | undefined {
  return table.find(([pattern]) => pattern.test(agent))?.[1];
}

/** "Web · <browser>[ on <system>]", at most 128 bytes (the server's limit). */
export function deviceLabel(agent: string = navigator.userAgent): string {
  const browser = first(BROWSERS, agent) ?? 'browser';
  const system = first(SYSTEMS, agent);
  return (system ? `Web · ${browser} on ${system}` : `Web · ${browser}`).slice(0, 100);
}
