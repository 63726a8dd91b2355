// Every error Passthru raises on purpose is one of these classes, each with a stable `code`.
// Callers match on `code`, never on the message text (messages may be reworded).

export abstract class PassthruError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One problem in a config file, located by its JSON path (`servers["127.0.0.1:443"].TLS`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** The config file cannot be used; `issues` lists every problem found, each with its path. */
export class ConfigError extends PassthruError {
  readonly code = 'E_CONFIG';
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
  ) {
    super(`${file}: ${issues.length} error(s) in config\n` + issues.map((i) => `  ${formatIssue(i)}`).join('\n'));
  }
}

export function formatIssue(issue: ConfigIssue): string {
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}

/** A command-line flag has a value that can never work (`-t 0`, `-w 4` before workers exist). */
export class UsageError extends PassthruError {
  readonly code = 'E_USAGE';
}

/** A detector module was refused at load; `file` names it and the message says why. */
export class PluginLoadError extends PassthruError {
  readonly code = 'E_PLUGIN_LOAD';
  constructor(
    readonly file: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: plugin refused: ${reason}`, options);
  }
}

/** A listen address could not be bound. */
export class ListenError extends PassthruError {
  readonly code = 'E_LISTEN';
  constructor(
    readonly address: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot listen on ${address}: ${reason}`, options);
  }
}

/** A detector project or plugin source could not be built (`passthru plugin build`, `npm run build:plugins`). */
export class PluginBuildError extends PassthruError {
  readonly code = 'E_PLUGIN_BUILD';
}

/** A detector failed the conformance kit (`passthru plugin test`) or could not be tested at all. */
export class PluginTestError extends PassthruError {
  readonly code = 'E_PLUGIN_TEST';
}

/** `passthru status` could not read a running instance's /metrics (refused, timed out, not Prometheus text). */
export class MetricsEndpointError extends PassthruError {
  readonly code = 'E_METRICS_ENDPOINT';
  constructor(
    readonly url: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot read metrics from ${url}: ${reason}`, options);
  }
}
