/**
 * @module config
 * Settings the core reads, parsed once from plain strings (environment variables on Node, vars on Workers).
 * Invalid values fail start-up with a precise message rather than falling back silently.
 */

export interface Config {
  /** Members of this group (and admins) may create registered models. `users` means every principal. */
  modelCreatorsGroup: string;
  /** Longest page the search endpoints return. */
  maxSearchResults: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** @example parseConfig({ REGATE_MODEL_CREATORS: 'ml-engineers' }) */
export function parseConfig(raw: Record<string, string | undefined>): Config {
  const group = raw.REGATE_MODEL_CREATORS ?? 'users';
  if (!/^[\w .@-]{1,256}$/.test(group)) throw new ConfigError(`REGATE_MODEL_CREATORS: not a group name: ${group}`);
  return { modelCreatorsGroup: group, maxSearchResults: 1000 };
}
