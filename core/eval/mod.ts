// Evaluation: multiple-choice benchmarks (MMLU-style tasks) and generation metrics for do_predict.
export {
  type EvalModel,
  type EvalOptions,
  type EvalResult,
  evaluate,
  evaluateSubjects,
  formatScores,
  lastTokenLogits,
  pickChoices,
  saveResults,
} from "./evaluator.ts";
export { EVAL_TEMPLATES, type EvalTemplate, formatExample } from "./eval_template.ts";
export {
  predict,
  predictExamples,
  type Prediction,
  type PredictModel,
  type PredictOptions,
  type PredictResult,
  savePredictions,
} from "./predict.ts";
export {
  bleu4,
  pairScores,
  rougeL,
  rougeN,
  similarity,
  type SimilarityScores,
  words,
} from "./similarity.ts";
export {
  CATEGORIES,
  CHOICES,
  loadTask,
  parseCsv,
  parseTaskName,
  type Question,
  type Subject,
} from "./task.ts";
