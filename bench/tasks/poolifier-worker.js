// poolifier's worker: a ThreadWorker with the shared tasks as named task functions.
import { ThreadWorker } from 'poolifier';
import { probe, spin, square } from './tasks.js';

export default new ThreadWorker({ square, spin, probe });
