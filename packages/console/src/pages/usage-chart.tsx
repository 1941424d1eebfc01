import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import { useEffect, useRef } from 'react';
import { usd } from '../money.ts';

// Only the parts drawn here are registered (tree-shaken build: the rest of Chart.js is not shipped).
Chart.register(
  BarController,
  BarElement,
  LineController,
  LineElement,
  PointElement,
  CategoryScale,
  LinearScale,
  Tooltip,
  Legend,
);

export type DayPoint = {
  day: string;
  chargedMicroCents: number;
  refundedMicroCents: number;
  upstreamCostMicroCents: number;
  marginMicroCents: number;
};

const SERIES = [
  { key: 'chargedMicroCents', label: 'Revenue (charged)', color: '#1f4e8c', type: 'bar' },
  { key: 'refundedMicroCents', label: 'Refunds', color: '#b3541e', type: 'bar' },
  { key: 'upstreamCostMicroCents', label: 'Upstream cost', color: '#6b6b6b', type: 'bar' },
  { key: 'marginMicroCents', label: 'Margin', color: '#1d7a46', type: 'line' },
] as const;

/**
 * Revenue, refunds, upstream cost and margin per UTC day. The bars' heights are dollars as floats
 * (drawing only); every number a person reads (tooltips, axis, the table below) is formatted exactly
 * from the integer micro-cents.
 */
export function UsageChart({ points, label }: { points: DayPoint[]; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const el = canvas.current;
    if (el === null) return;
    const chart = new Chart(el, {
      type: 'bar',
      data: {
        labels: points.map((p) => p.day),
        datasets: SERIES.map((s) => ({
          type: s.type,
          label: s.label,
          data: points.map((p) => p[s.key] / 1_000_000),
          backgroundColor: s.color,
          borderColor: s.color,
        })),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        scales: { y: { ticks: { callback: (v) => `$${v}` } } },
        plugins: {
          tooltip: {
            callbacks: {
              label: (item) => {
                const point = points[item.dataIndex];
                const series = SERIES[item.datasetIndex];
                return point && series ? `${series.label}: ${usd(point[series.key])}` : '';
              },
            },
          },
        },
      },
    });
    return () => chart.destroy();
  }, [points]);

  return (
    <div className="chart">
      <canvas ref={canvas} role="img" aria-label={label}>
        {label}. The same figures are in the table below.
      </canvas>
    </div>
  );
}
