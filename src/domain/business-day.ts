/** Start of the business day containing `now` (ms), for daily limits; `offsetMinutes` from UTC (Asia/Shanghai: 480). */
export function startOfDay(now: number, offsetMinutes: number): number {
  const offset = offsetMinutes * 60_000;
  return Math.floor((now + offset) / 86_400_000) * 86_400_000 - offset;
}
