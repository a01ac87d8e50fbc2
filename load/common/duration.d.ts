export function parseDuration(text: string | number): number;
export function formatDuration(ms: number): string;
