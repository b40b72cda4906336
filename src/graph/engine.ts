/** What compute() loads on first use: the planner and the scheduler, in one chunk. */
export { planAll, planCached } from './plan.js';
export { Scheduler } from './scheduler.js';
