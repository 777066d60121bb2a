// The built-in training stages, listed explicitly.
import type { Stage } from "../../core/stage/stage.ts";
import { dpo } from "./dpo.ts";
import { kto } from "./kto.ts";
import { pt } from "./pt.ts";
import { rm } from "./rm.ts";
import { sft } from "./sft.ts";

export { dpo, kto, pt, rm, sft };

export const stages: readonly Stage[] = [pt, sft, rm, dpo, kto];
