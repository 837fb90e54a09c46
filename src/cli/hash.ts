/** `hashgate hash`: placeholder until the command lands. */
export async function run(_args: string[]): Promise<number> {
  console.error("hashgate hash: not available yet");
  return 2;
}
