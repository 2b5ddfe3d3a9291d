// ScanSpace::at_burst's mapping on AVX-512 for target sets of at most 16
// intervals (a lab range, the Internet minus the shipped blocklist), eight
// probes per register: the host/slot split (quotient by a multiply with
// 1/hosts in double precision, exact below 2^52, then corrected by at most
// one step either way, as the estimate is off by less than one), the slot's
// port and protocol by a gather (or arithmetic, for a plain port range), the host's interval by compares and
// permutes from registers, and the Targets written with two permutes instead
// of 24 scalar stores. Larger sets stay on the scalar loop: looking their
// interval up with three gathers measured slower than TargetSet::at's bucket
// table (BM_TxBurst internet, 10.2 against 9.1 ns per probe).
// GCC 12 flags its own _mm512_undefined_epi32() as used uninitialized once
// inlined (see permutation_avx512.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include <cstddef>

#include "scan_space_simd.hpp"

#define WS_TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw")))

namespace ws::detail {

// The layouts the gather and the interleaving store rely on.
static_assert(sizeof(ProbeSlot) == 6 && offsetof(ProbeSlot, proto) == 0 && offsetof(ProbeSlot, port) == 2);
static_assert(sizeof(Target) == 12 && offsetof(Target, address) == 0 && offsetof(Target, port) == 4 &&
              offsetof(Target, proto) == 6 && offsetof(Target, slot) == 8);

WS_TARGET_AVX512 void map_burst_avx512(const std::uint64_t* permuted, unsigned count, std::uint64_t hosts,
                                       double host_scale, const TargetSet& targets, const ProbeSlot* slots,
                                       std::uint32_t slot_count, bool port_range, Target* out) noexcept {
    const __m512i h = _mm512_set1_epi64(std::int64_t(hosts));
    const __m512d scale = _mm512_set1_pd(host_scale);
    const __m512i one = _mm512_set1_epi64(1);
    // Dword k of the 24 that make eight Targets {address, port | proto << 16, slot}:
    // lane k / 3, field k % 3; fields 0 and 1 come from one register (A | B << 256), 2 from C.
    const __m512i interleave_lo = _mm512_set_epi32(5, 20, 12, 4, 19, 11, 3, 18, 10, 2, 17, 9, 1, 16, 8, 0);
    const __m512i interleave_hi = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 23, 15, 7, 22, 14, 6, 21, 13);
    // The intervals' index starts and first addresses, in registers.
    const auto& intervals = targets.intervals();
    const unsigned interval_count = unsigned(intervals.size());
    alignas(64) std::uint64_t starts[max_vector_intervals] = {};
    alignas(64) std::uint32_t first_addresses[max_vector_intervals] = {};
    std::uint64_t total = 0;
    for (unsigned k = 0; k < interval_count; ++k) {
        starts[k] = total;
        first_addresses[k] = intervals[k].first;
        total += intervals[k].size();
    }
    const __m512i starts_low = _mm512_load_si512(starts);
    const __m512i starts_high = _mm512_load_si512(starts + 8);
    const __m512i firsts = _mm512_load_si512(first_addresses);
    const __m256i one_slot = _mm256_set1_epi32(int(std::uint32_t{slots[0].port} | std::uint32_t(slots[0].proto) << 16));
    for (unsigned i = 0; i < count; i += 8) {
        const unsigned lanes = count - i < 8 ? count - i : 8;
        const __mmask8 valid = __mmask8((1u << lanes) - 1);
        const __m512i j = _mm512_maskz_loadu_epi64(valid, permuted + i);
        // slot = j / hosts, host = j - slot * hosts.
        __m512i q = _mm512_cvttpd_epu64(_mm512_mul_pd(_mm512_cvtepu64_pd(j), scale));
        __m512i r = _mm512_sub_epi64(j, _mm512_mullo_epi64(q, h));
        const __mmask8 under = _mm512_cmplt_epi64_mask(r, _mm512_setzero_si512());
        q = _mm512_mask_sub_epi64(q, under, q, one);
        r = _mm512_mask_add_epi64(r, under, r, h);
        const __mmask8 over = _mm512_cmpge_epi64_mask(r, h);
        q = _mm512_mask_add_epi64(q, over, q, one);
        r = _mm512_mask_sub_epi64(r, over, r, h);
        // The slot's first four bytes: proto, padding, port (ProbeSlot is 6 bytes: index 3q, scale 2).
        // Gathers are slow on Zen 4: one slot, or a plain port range, needs none.
        __m256i port_proto = one_slot;
        if (port_range) {
            // Slot s is port first + s of one protocol: no gather.
            port_proto = _mm256_add_epi32(one_slot, _mm512_cvtepi64_epi32(q));
        } else if (slot_count > 1) {
            const __m512i q3 = _mm512_add_epi64(q, _mm512_add_epi64(q, q));
            const __m256i head = _mm512_mask_i64gather_epi32(_mm256_setzero_si256(), valid, q3, slots, 2);
            port_proto = _mm256_or_si256(_mm256_srli_epi32(head, 16),
                                         _mm256_slli_epi32(_mm256_and_si256(head, _mm256_set1_epi32(0xff)), 16));
        }
        // The host's interval: how many interval starts after the first are
        // <= host (compares against broadcasts, no gather), then its start
        // and first address by permutes from registers.
        __m512i interval = _mm512_setzero_si512();
        for (unsigned k = 1; k < interval_count; ++k)
            interval = _mm512_mask_add_epi64(interval, _mm512_cmpge_epu64_mask(r, _mm512_set1_epi64(std::int64_t(starts[k]))),
                                             interval, one);
        const __m512i start = _mm512_permutex2var_epi64(starts_low, interval, starts_high);
        const __m256i interval32 = _mm512_cvtepi64_epi32(interval);
        const __m256i first = _mm512_castsi512_si256(_mm512_permutexvar_epi32(_mm512_castsi256_si512(interval32), firsts));
        const __m256i address = _mm256_add_epi32(first, _mm512_cvtepi64_epi32(_mm512_sub_epi64(r, start)));
        const __m256i slot = _mm512_cvtepi64_epi32(q);
        const __m512i fields01 = _mm512_inserti64x4(_mm512_castsi256_si512(address), port_proto, 1);
        const __m512i fields2 = _mm512_castsi256_si512(slot);
        auto* dwords = reinterpret_cast<std::uint32_t*>(out + i);
        const unsigned words = 3 * lanes;
        _mm512_mask_storeu_epi32(dwords, __mmask16(words >= 16 ? 0xffff : (1u << words) - 1),
                                 _mm512_permutex2var_epi32(fields01, interleave_lo, fields2));
        if (words > 16)
            _mm512_mask_storeu_epi32(dwords + 16, __mmask16((1u << (words - 16)) - 1),
                                     _mm512_permutex2var_epi32(fields01, interleave_hi, fields2));
    }
}

} // namespace ws::detail
