import { z } from "zod";

/** Which files a `file` source run reads (SPEC section 5, S2's periodic CSV drops). */
export const fileSelectionSpec = z
  .enum(["all", "new"])
  .default("all")
  .describe(
    "`all`: every run reads every matching file as the whole dataset (replace). `new`: a run reads only the " +
      "matching files not consumed yet (relative path, size and mtime not in the pipeline's state) and appends " +
      "them; the state records them once every sink committed. The first run (no state) and `--full` read every " +
      "file and replace; a consumed file whose size or mtime changed is read again, with a warning.",
  );
