/** The fault matrix as a Markdown table (printed by the fault tests, kept in fuzz/FAULTS.md). */
export interface MatrixRow {
  scenario: string;
  step: string;
  binding: string;
  fault: string;
  outcome: string;
}

export function formatMatrix(title: string, rows: MatrixRow[]): string {
  const lines = [
    `### ${title}`,
    "",
    "| scenario | step | binding | fault | outcome |",
    "|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.scenario} | ${r.step} | ${r.binding} | ${r.fault} | ${r.outcome} |`),
  ];
  return lines.join("\n");
}
