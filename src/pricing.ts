// Rough Fargate cost estimates for a service, from a fixed price table.
//
// The table is a snapshot compiled on 2026-11-24, Linux/x86_64 only, USD per hour. The us-east-1
// on-demand pair ($0.04048 per vCPU-hour, $0.004445 per GB-hour) is quoted as current for 2026 by
// several independent pricing guides; the other regions and all Spot figures come from a public
// transcription of the AWS Fargate pricing page of unstated date. Spot prices move with supply and
// demand and no current, dated figure could be confirmed, so every Spot figure is flagged
// `spotEstimated`, and estimates that use it say so.

export interface FargatePrices {
  region: string;
  asOf: string;
  onDemand: { vcpuHour: number; gbHour: number };
  spot: { vcpuHour: number; gbHour: number };
  source: string;
  /** True when the Spot figures could not be confirmed as current published prices. */
  spotEstimated: boolean;
}

export interface CostEstimate {
  monthlyUsd: number;
  dailyUsd: number;
  region: string;
  asOf: string;
  perTaskHourUsd: number;
  spotShare: number;
  /** True when part of the estimate rests on an unconfirmed Spot price. */
  spotEstimated: boolean;
}

export interface CapacityProviderWeight {
  provider: string;
  weight: number;
}

const AS_OF = '2026-11-24';
const HOURS_PER_MONTH = 730;
const HOURS_PER_DAY = 24;

const SOURCE_US_EAST_1 = 'factualminds.com (2026-06-17), wring.co (2026-03-10): aws.amazon.com/fargate/pricing';
const SOURCE_FGCALC = 'github.com/theuves/fgcalc src/utils/data.js (transcribed from aws.amazon.com/fargate/pricing, undated, 2021 or later)';

interface Row {
  onDemand: [vcpuHour: number, gbHour: number];
  spot: [vcpuHour: number, gbHour: number];
  onDemandSource: string;
  spotNote: string;
}

const SPOT_UNDATED = `Spot from ${SOURCE_FGCALC}; Spot prices move and this one is not confirmed as current`;

const TABLE: Record<string, Row> = {
  'us-east-1': { onDemand: [0.04048, 0.004445], spot: [0.01264355, 0.00138835], onDemandSource: SOURCE_US_EAST_1, spotNote: SPOT_UNDATED },
  'us-east-2': {
    onDemand: [0.04048, 0.004445],
    spot: [0.01276353, 0.00140153],
    onDemandSource: `clickittech.com; ${SOURCE_FGCALC}`,
    spotNote: SPOT_UNDATED,
  },
  'us-west-2': { onDemand: [0.04048, 0.004445], spot: [0.01269464, 0.00139396], onDemandSource: SOURCE_FGCALC, spotNote: SPOT_UNDATED },
  'eu-west-1': {
    onDemand: [0.04048, 0.004445],
    spot: [0.01257825, 0.00138118],
    onDemandSource: `tomgregory.com; ${SOURCE_FGCALC}`,
    spotNote: `${SPOT_UNDATED}; tomgregory.com quoted 0.01334053 / 0.00146489 at another time`,
  },
  'eu-central-1': { onDemand: [0.04656, 0.00511], spot: [0.0140458, 0.00154154], onDemandSource: SOURCE_FGCALC, spotNote: SPOT_UNDATED },
  'ap-northeast-1': { onDemand: [0.05056, 0.00553], spot: [0.01981009, 0.00216673], onDemandSource: SOURCE_FGCALC, spotNote: SPOT_UNDATED },
  // This Spot pair is exactly 30% of on-demand, i.e. the advertised maximum discount, so it may be a placeholder rather than a measured price.
  'ap-southeast-1': {
    onDemand: [0.05056, 0.00553],
    spot: [0.015168, 0.001659],
    onDemandSource: SOURCE_FGCALC,
    spotNote: `${SPOT_UNDATED}; equals 30% of on-demand exactly`,
  },
};

/** Prices for a region, or undefined when the table has none. */
export function fargatePrices(region: string): FargatePrices | undefined {
  // Own-property check, so names like 'constructor' are not found on the prototype.
  if (!Object.hasOwn(TABLE, region)) return undefined;
  const row = TABLE[region];
  if (row === undefined) return undefined;
  return {
    region,
    asOf: AS_OF,
    onDemand: { vcpuHour: row.onDemand[0], gbHour: row.onDemand[1] },
    spot: { vcpuHour: row.spot[0], gbHour: row.spot[1] },
    source: `On-demand: ${row.onDemandSource}. ${row.spotNote}.`,
    spotEstimated: true,
  };
}

/** capacity: the share of tasks on Spot, from a capacity-provider strategy like [{provider:'FARGATE_SPOT', weight: 3}, {provider:'FARGATE', weight: 1}] (base is ignored). */
export function spotShare(strategy: CapacityProviderWeight[]): number {
  let spot = 0;
  let total = 0;
  for (const { provider, weight } of strategy) {
    // ECS weights are 0..1000; anything else would only distort the ratio.
    const w = Number.isFinite(weight) && weight > 0 ? weight : 0;
    total += w;
    if (provider.toUpperCase() === 'FARGATE_SPOT') spot += w;
  }
  // No strategy, or all weights zero: the service runs on plain Fargate.
  return total === 0 ? 0 : spot / total;
}

/** cpu in ECS units (1024 = 1 vCPU), memory in MiB; 730 hours a month. undefined when the region has no prices. */
export function estimateCost(options: {
  region: string;
  cpu: number;
  memory: number;
  tasks: number;
  strategy: CapacityProviderWeight[];
}): CostEstimate | undefined {
  const { region, cpu, memory, tasks, strategy } = options;
  for (const [name, value] of [
    ['cpu', cpu],
    ['memory', memory],
    ['tasks', tasks],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite number >= 0, got ${value}`);
  }
  const prices = fargatePrices(region);
  if (prices === undefined) return undefined;

  const vcpu = cpu / 1024;
  // Fargate bills memory in GB where 512 MiB counts as 0.5 GB.
  const gb = memory / 1024;
  const share = spotShare(strategy);
  const onDemandHour = vcpu * prices.onDemand.vcpuHour + gb * prices.onDemand.gbHour;
  const spotHour = vcpu * prices.spot.vcpuHour + gb * prices.spot.gbHour;
  // Blend per task-hour at full precision; round only the totals handed back.
  const perTaskHourUsd = share * spotHour + (1 - share) * onDemandHour;
  const hourly = perTaskHourUsd * tasks;

  return {
    monthlyUsd: toCents(hourly * HOURS_PER_MONTH),
    dailyUsd: toCents(hourly * HOURS_PER_DAY),
    region,
    asOf: prices.asOf,
    perTaskHourUsd,
    spotShare: share,
    spotEstimated: prices.spotEstimated && share > 0,
  };
}

function toCents(usd: number): number {
  // toPrecision first so binary noise like 100.49999999999999 rounds as the decimal 100.5 it stands for.
  return Math.round(Number((usd * 100).toPrecision(12))) / 100;
}
