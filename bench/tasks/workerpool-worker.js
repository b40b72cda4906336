// workerpool's worker: registers the shared tasks by name.
import workerpool from 'workerpool';
import { probe, spin, square } from './tasks.js';

workerpool.worker({ square, spin, probe });
