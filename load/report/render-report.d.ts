export function renderReportHtml(summary: unknown, opts: { chartJs: string; generatedAt?: string }): string;
