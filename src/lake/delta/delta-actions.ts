/**
 * The actions of a Delta Lake log (PROTOCOL.md "Actions") as sluice reads them. Only the fields a
 * reader-v1 implementation needs are typed; unknown fields are kept by the JSON parse and ignored.
 */

export interface DeltaProtocol {
  readonly minReaderVersion: number;
  readonly minWriterVersion: number;
  readonly readerFeatures?: readonly string[];
  readonly writerFeatures?: readonly string[];
}

export interface DeltaMetadataAction {
  readonly id: string;
  readonly name?: string | null;
  readonly description?: string | null;
  readonly schemaString: string;
  readonly partitionColumns: readonly string[];
  readonly configuration?: Readonly<Record<string, string>> | null;
  readonly createdTime?: number | null;
}

export interface DeltaAddAction {
  readonly path: string;
  readonly partitionValues?: Readonly<Record<string, string | null>> | null;
  readonly size: number;
  readonly modificationTime: number;
  readonly dataChange: boolean;
  readonly stats?: string | null;
  readonly deletionVector?: unknown;
}

export interface DeltaRemoveAction {
  readonly path: string;
  readonly deletionTimestamp?: number | null;
  readonly dataChange?: boolean;
  readonly deletionVector?: unknown;
}

export interface DeltaTxnAction {
  readonly appId: string;
  readonly version: number;
  readonly lastUpdated?: number | null;
}

/** One line of a commit file, or one row of a checkpoint: at most one of these keys is set. */
export interface DeltaAction {
  readonly protocol?: DeltaProtocol | null;
  readonly metaData?: DeltaMetadataAction | null;
  readonly add?: DeltaAddAction | null;
  readonly remove?: DeltaRemoveAction | null;
  readonly txn?: DeltaTxnAction | null;
  readonly commitInfo?: Readonly<Record<string, unknown>> | null;
}

/**
 * Parses a commit file's text: newline-delimited JSON actions, blank lines skipped. Throws a plain
 * Error naming the line on malformed JSON (the caller names the file).
 */
export function parseCommitText(text: string): DeltaAction[] {
  const actions: DeltaAction[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    try {
      actions.push(JSON.parse(line) as DeltaAction);
    } catch (err) {
      throw new Error(`line ${i + 1} is not JSON: ${(err as Error).message}`);
    }
  }
  return actions;
}
