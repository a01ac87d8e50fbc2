/**
 * Where platform UI (TikTok/Reels/Shorts buttons and captions bar, a TV's overscan) leaves the
 * picture alone, as fractions of the frame, per aspect ratio. Overlays and captions must stay
 * inside; the schema refuses a spec that would not.
 */
export interface SafeZone {
  name: '9:16' | '1:1' | '16:9';
  top: number;
  bottom: number;
  left: number;
  right: number;
}

const ZONES: Record<SafeZone['name'], SafeZone> = {
  // Short-video apps: status/tabs above, caption, buttons and progress bar below, actions on the right.
  '9:16': { name: '9:16', top: 0.12, bottom: 0.2, left: 0.06, right: 0.12 },
  '1:1': { name: '1:1', top: 0.05, bottom: 0.05, left: 0.05, right: 0.05 },
  // Broadcast title-safe.
  '16:9': { name: '16:9', top: 0.05, bottom: 0.05, left: 0.05, right: 0.05 },
};

/** The zone of the nearest of 9:16, 1:1 and 16:9 (a 4:5 feed post counts as square). */
export function safeZoneFor(width: number, height: number): SafeZone {
  const ratio = width / height;
  if (ratio < 0.75) return ZONES['9:16'];
  if (ratio <= 1.34) return ZONES['1:1'];
  return ZONES['16:9'];
}

/** A box in frame fractions (x, y = top-left). */
export interface FrameBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

const EPSILON = 1e-6;

/** Which edge of the zone a box crosses, or null when it is inside. */
export function outsideSafeZone(zone: SafeZone, box: FrameBox): string | null {
  const crossed: string[] = [];
  if (box.x < zone.left - EPSILON) crossed.push('left');
  if (box.y < zone.top - EPSILON) crossed.push('top');
  if (box.x + box.width > 1 - zone.right + EPSILON) crossed.push('right');
  if (box.y + box.height > 1 - zone.bottom + EPSILON) crossed.push('bottom');
  return crossed.length > 0 ? crossed.join(', ') : null;
}

/** Rough text extent for a sans font: ~0.6 em per character, 1.25 em per line. */
export function textBox(
  text: string,
  fontSizeOfHeight: number,
  frame: { width: number; height: number },
): { width: number; height: number } {
  const lines = text.split('\n');
  const longest = Math.max(...lines.map((l) => l.length));
  const px = fontSizeOfHeight * frame.height;
  return { width: (longest * 0.6 * px) / frame.width, height: lines.length * 1.25 * fontSizeOfHeight };
}

/**
 * The refusal for an element drawn at each of `frames` (output and renditions), or null when it
 * stays inside every frame's zone. `box` gives its extent at one frame size.
 */
export function safeZoneViolation(
  frames: { width: number; height: number }[],
  box: (frame: { width: number; height: number }) => FrameBox,
): string | null {
  for (const frame of frames) {
    const zone = safeZoneFor(frame.width, frame.height);
    const crossed = outsideSafeZone(zone, box(frame));
    if (crossed) {
      return `outside the ${zone.name} safe zone of ${frame.width}x${frame.height} (crosses its ${crossed} edge)`;
    }
  }
  return null;
}
