import { findConfigFile, type LoadedConfig, loadConfig } from "../config/load-config.js";

/** Options every config-reading command shares. */
export interface ConfigFlags {
  config?: string;
  set?: string[];
}

/**
 * Finds and loads the config named by `-c` (or the default), applying `--set`. `readOnly` commands
 * (query, runs, quarantine) accept unset `${VAR}`s: they never connect to a source.
 */
export async function loadFromFlags(flags: ConfigFlags, opts: { readOnly?: boolean } = {}): Promise<LoadedConfig> {
  return loadConfig(findConfigFile(flags.config), { sets: flags.set ?? [], allowMissingEnv: opts.readOnly === true });
}
