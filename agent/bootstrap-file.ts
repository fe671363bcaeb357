import { readFile } from "node:fs/promises";
import { Bootstrap } from "../shared/bootstrap.js";
import { UserError } from "../shared/errors.js";
import { parseYamlWith } from "../shared/validate.js";

/** Reads and validates the bootstrap file; a missing or corrupt file is a clear, named error. */
export async function readBootstrap(path: string): Promise<Bootstrap> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(code === "ENOENT" ? `bootstrap file ${path} does not exist (cloud-init or the provider writes it)` : `cannot read bootstrap file ${path}: ${code}`);
  }
  return parseYamlWith(Bootstrap, text, `bootstrap file ${path}`);
}
