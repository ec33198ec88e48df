// Runs a Dockerfile's COPY and RUN instructions in plain temp directories (no Docker engine exists on these
// machines), so a test can prove that the image's install and build steps work and what the final stage holds.
// Supports the subset our Dockerfiles use: FROM ... AS name, WORKDIR, COPY [--from=stage] src... dest, RUN, ENV,
// USER, EXPOSE, ENTRYPOINT/CMD (JSON form).
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, delimiter, dirname, join } from "node:path";

export interface Stage {
  name?: string;
  base: string;
  dir: string;
  env: Record<string, string>;
  workdir?: string;
  user?: string;
  expose: string[];
  entrypoint: string[];
  cmd: string[];
}

/**
 * `node`: the Node.js binary of the base images (scripts/image-node.ts), first on the PATH of every RUN, as in the
 * image (npm runs on whatever `node` the PATH gives it).
 */
export function runDockerfile(dockerfile: string, context: string, options: { node?: string; log?: (line: string) => void } = {}): Stage[] {
  const log = options.log ?? (() => {});
  const path = options.node ? `${dirname(options.node)}${delimiter}${process.env.PATH ?? ""}` : process.env.PATH;
  const lines = readFileSync(dockerfile, "utf8").split("\n").filter((l) => l.trim() && !l.trim().startsWith("#"));
  const stages: Stage[] = [];
  let stage: Stage | undefined;
  const inStage = (): Stage => {
    if (!stage) throw new Error("instruction before FROM");
    return stage;
  };
  for (const line of lines) {
    const [instruction, ...rest] = line.trim().split(/\s+/);
    const args = rest.join(" ");
    switch (instruction.toUpperCase()) {
      case "FROM": {
        const [base, , name] = rest;
        stage = { base, name, dir: mkdtempSync(join(tmpdir(), "image-stage-")), env: {}, expose: [], entrypoint: [], cmd: [] };
        stages.push(stage);
        break;
      }
      case "WORKDIR":
        inStage().workdir = args; // the stage's temp dir stands for its WORKDIR
        break;
      case "ENV": {
        const at = args.indexOf("=");
        inStage().env[args.slice(0, at)] = args.slice(at + 1).replace(/^"(.*)"$/, "$1"); // ENV K="v w": the value is v w
        break;
      }
      case "COPY": {
        const from = rest[0].startsWith("--from=") ? stages.find((s) => s.name === rest[0].slice(7)) : undefined;
        const paths = from ? rest.slice(1) : rest;
        const dest = join(inStage().dir, paths[paths.length - 1]);
        const root = from ? from.dir : context;
        for (const src of paths.slice(0, -1)) {
          const local = from?.workdir && src.startsWith(`${from.workdir}/`) ? src.slice(from.workdir.length + 1) : src;
          const source = join(root, local);
          const target = paths.length > 2 || dest.endsWith("/") ? join(dest, basename(src)) : dest;
          mkdirSync(statSync(source).isDirectory() ? target : join(target, ".."), { recursive: true });
          cpSync(source, target, { recursive: true });
        }
        break;
      }
      case "RUN":
        log(`RUN ${args}`);
        execFileSync("sh", ["-c", args], { cwd: inStage().dir, env: { ...process.env, PATH: path, ...inStage().env }, stdio: "pipe" });
        break;
      case "USER":
        inStage().user = args;
        break;
      case "EXPOSE":
        inStage().expose.push(...rest);
        break;
      case "ENTRYPOINT":
        inStage().entrypoint = JSON.parse(args);
        break;
      case "CMD":
        inStage().cmd = JSON.parse(args);
        break;
      default:
        throw new Error(`unsupported Dockerfile instruction ${instruction}`);
    }
  }
  return stages;
}
