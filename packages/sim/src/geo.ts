/**
 * Hubs and lanes the simulated fleet drives, with real coordinates, and the kinematics a truck reports
 * (position along the lane, heading, speed, odometer). Deterministic given time.
 */

export interface Hub {
  name: string;
  lat: number;
  lon: number;
}

export const HUBS = {
  dallas: { name: 'Dallas, TX', lat: 32.7767, lon: -96.797 },
  houston: { name: 'Houston, TX', lat: 29.7604, lon: -95.3698 },
  fortWorth: { name: 'Fort Worth, TX', lat: 32.7555, lon: -97.3308 },
  elPaso: { name: 'El Paso, TX', lat: 31.7619, lon: -106.485 },
  chicago: { name: 'Chicago, IL', lat: 41.8781, lon: -87.6298 },
  atlanta: { name: 'Atlanta, GA', lat: 33.749, lon: -84.388 },
} as const satisfies Record<string, Hub>;

const EARTH_RADIUS_M = 6_371_000;
const rad = (deg: number): number => (deg * Math.PI) / 180;
const deg = (r: number): number => (r * 180) / Math.PI;

export function distanceMeters(a: Hub, b: Hub): number {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(h));
}

export function bearingDegrees(a: Hub, b: Hub): number {
  const y = Math.sin(rad(b.lon - a.lon)) * Math.cos(rad(b.lat));
  const x =
    Math.cos(rad(a.lat)) * Math.sin(rad(b.lat)) -
    Math.sin(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.cos(rad(b.lon - a.lon));
  return (deg(Math.atan2(y, x)) + 360) % 360;
}

/** Linear interpolation is accurate to well under a metre per km at these distances. */
export function along(a: Hub, b: Hub, fraction: number): { lat: number; lon: number } {
  const f = Math.min(1, Math.max(0, fraction));
  return { lat: a.lat + (b.lat - a.lat) * f, lon: a.lon + (b.lon - a.lon) * f };
}
