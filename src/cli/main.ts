/** Dispatches `hashgate <command>` to the module that implements it. */
interface Command {
  run(args: string[]): Promise<number>;
}

const COMMANDS: Record<string, { about: string; load: () => Promise<Command> }> = {
  doctor: {
    about: "check that an environment is ready to deploy and run",
    load: () => import("./doctor.ts"),
  },
  hash: { about: "print MD5, SHA-1, SHA-256, PDQ and quality of files", load: () => import("./hash.ts") },
  lists: { about: "import, publish and govern hash lists", load: () => import("./lists.ts") },
  "allow-list": { about: "list and revoke allow-list entries (D1)", load: () => import("./allow-list.ts") },
  transparency: {
    about: "publishable figures: blocks, reports, appeals (D1)",
    load: () => import("./transparency.ts"),
  },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const entry = name ? COMMANDS[name] : undefined;
  if (!entry) {
    const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(12)}${c.about}`);
    console.error(`usage: hashgate <command> [options]\n\ncommands:\n${lines.join("\n")}`);
    return name && name !== "--help" && name !== "-h" ? 2 : 0;
  }
  return (await entry.load()).run(rest);
}
