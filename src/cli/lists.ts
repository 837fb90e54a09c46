/** `hashgate lists`: placeholder until the command lands. */
export async function run(_args: string[]): Promise<number> {
  console.error("hashgate lists: not available yet");
  return 2;
}
