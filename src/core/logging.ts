export const LOG_LEVELS = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, CRITICAL: 50 } as const;
export type LogLevel = keyof typeof LOG_LEVELS;

export function parseLogLevel(value: string): LogLevel | undefined {
  const upper = value.toUpperCase();
  if (upper === "WARN") return "WARNING";
  return upper in LOG_LEVELS ? (upper as LogLevel) : undefined;
}

export interface LogRecord {
  /** Epoch milliseconds. */
  timestamp: number;
  level: LogLevel;
  /** Logger name, e.g. "prefectlite.FlowRunner" or "prefectlite.Task: say_hello". */
  name: string;
  message: string;
  taskRunKey?: string;
}

export type LogSink = (record: LogRecord) => void;

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  critical(message: string): void;
  log(level: LogLevel, message: string): void;
  isEnabledFor(level: LogLevel): boolean;
}

/** A logger that drops records below `minLevel` before building them. */
export function createLogger(options: {
  name: string;
  minLevel: LogLevel;
  sink: LogSink;
  now: () => number;
  taskRunKey?: string;
}): Logger {
  const threshold = LOG_LEVELS[options.minLevel];
  const log = (level: LogLevel, message: string) => {
    if (LOG_LEVELS[level] < threshold) return;
    const record: LogRecord = { timestamp: options.now(), level, name: options.name, message: String(message) };
    if (options.taskRunKey !== undefined) record.taskRunKey = options.taskRunKey;
    options.sink(record);
  };
  return {
    log,
    debug: (m) => log("DEBUG", m),
    info: (m) => log("INFO", m),
    warning: (m) => log("WARNING", m),
    warn: (m) => log("WARNING", m),
    error: (m) => log("ERROR", m),
    critical: (m) => log("CRITICAL", m),
    isEnabledFor: (level) => LOG_LEVELS[level] >= threshold,
  };
}
