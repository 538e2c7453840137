/* Internal: how the fused per-range update loops are compiled.

   Every optimizer's update function is one loop that calls its per-element
   kernel (src/kernels/) with the flags fixed per specialisation, which the
   compiler turns into a single vectorised pass over p, g and the state.

   RV_FUSED marks such a function for several instruction sets at once
   (function multiversioning): the build stays portable (plain x86-64 is
   SSE2 only, 4 floats per instruction), and the loader picks the x86-64-v3
   (AVX2 + FMA) or x86-64-v4 (AVX-512) copy on machines that have it. Wider
   vectors matter because sqrt and division per element make AdamW
   compute-bound below ~100 GB/s of memory bandwidth with SSE2, and the
   kernels' fused multiply-adds (RV_FMA, where torch fuses) are single
   instructions from v3 on. Results stay bit-identical across the copies:
   sqrt, division, +, * and fmaf are correctly rounded at every vector
   width, and -ffp-contract=off forbids any other fusion. */
#ifndef RAVINE_OPTIM_FUSED_H
#define RAVINE_OPTIM_FUSED_H

#if defined(__x86_64__) && !defined(__EMSCRIPTEN__) && defined(__has_attribute)
#if __has_attribute(target_clones) && defined(__ELF__)
#define RV_FUSED __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
#endif
#ifndef RV_FUSED
#define RV_FUSED
#endif

#endif
