import { findConfigFile, type LoadedConfig, loadConfig } from "../config/load-config.js";

/** Options every config-reading command shares. */
export interface ConfigFlags {
  config?: string;
  set?: string[];
}

/** Finds and loads the config named by `-c` (or the default), applying `--set`. */
export async function loadFromFlags(flags: ConfigFlags): Promise<LoadedConfig> {
  return loadConfig(findConfigFile(flags.config), { sets: flags.set ?? [] });
}
