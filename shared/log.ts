/**
 * Structured logging: one JSON object per line (journald and the coordinator's log collect
 * them). Field values whose names look secret are redacted here, once, so no caller can leak
 * a token or key by accident.
 */
export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELD = /token|secret|password|private|^key$|keyPem/i;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(options: { component: string; level?: Level; write?: (line: string) => void; base?: Record<string, unknown> }): Logger {
  const min = ORDER[options.level ?? ((process.env.SPROUT_LOG_LEVEL as Level | undefined) ?? "info")] ?? ORDER.info;
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const base = { component: options.component, ...options.base };
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    write(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...redact(base), ...redact(fields ?? {}) }));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (f) => createLogger({ ...options, base: { ...base, ...f } }),
  };
}

export function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = SECRET_FIELD.test(k) && v !== undefined ? "[redacted]" : v;
  return out;
}

/** A logger that drops everything (tests, `-o json` modes that must keep stderr clean). */
export const silentLogger: Logger = createLogger({ component: "silent", write: () => undefined });
