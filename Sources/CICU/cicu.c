#include "cicu.h"
#include <stdlib.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>
#include <unicode/utypes.h>

_Static_assert(CICU_BUFFER_OVERFLOW == U_BUFFER_OVERFLOW_ERROR, "ICU's buffer overflow code");
_Static_assert(sizeof(UChar) == sizeof(uint16_t), "UTF-16 code units");

struct cicu_rules {
    USpoofChecker *checker;
    const UNormalizer2 *nfc;         // owned by ICU
    const UNormalizer2 *nfkcCasefold; // owned by ICU
};

cicu_rules *cicu_rules_open(int32_t *status) {
    UErrorCode error = U_ZERO_ERROR;
    cicu_rules *rules = calloc(1, sizeof *rules);
    if (rules == NULL) { *status = U_MEMORY_ALLOCATION_ERROR; return NULL; }
    rules->checker = uspoof_open(&error);
    rules->nfc = unorm2_getNFCInstance(&error);
    rules->nfkcCasefold = unorm2_getNFKCCasefoldInstance(&error);
    if (U_SUCCESS(error)) uspoof_setChecks(rules->checker, USPOOF_INVISIBLE | USPOOF_HIDDEN_OVERLAY, &error);
    *status = error;
    if (U_FAILURE(error)) { cicu_rules_close(rules); return NULL; }
    return rules;
}

void cicu_rules_close(cicu_rules *rules) {
    if (rules == NULL) return;
    if (rules->checker != NULL) uspoof_close(rules->checker);
    free(rules);
}

const char *cicu_error_name(int32_t status) { return u_errorName((UErrorCode)status); }

static int32_t normalize(const UNormalizer2 *normalizer, const uint16_t *source, int32_t length,
                         uint16_t *destination, int32_t capacity, int32_t *status) {
    UErrorCode error = U_ZERO_ERROR;
    int32_t written = unorm2_normalize(normalizer, (const UChar *)source, length, (UChar *)destination, capacity, &error);
    *status = error;
    return written;
}

int32_t cicu_nfc(const cicu_rules *rules, const uint16_t *source, int32_t length,
                 uint16_t *destination, int32_t capacity, int32_t *status) {
    return normalize(rules->nfc, source, length, destination, capacity, status);
}

int32_t cicu_nfkc_casefold(const cicu_rules *rules, const uint16_t *source, int32_t length,
                           uint16_t *destination, int32_t capacity, int32_t *status) {
    return normalize(rules->nfkcCasefold, source, length, destination, capacity, status);
}

int32_t cicu_skeleton(const cicu_rules *rules, const uint16_t *source, int32_t length,
                      uint16_t *destination, int32_t capacity, int32_t *status) {
    UErrorCode error = U_ZERO_ERROR;
    int32_t written = uspoof_getSkeleton(rules->checker, 0, (const UChar *)source, length, (UChar *)destination, capacity, &error);
    *status = error;
    return written;
}

int32_t cicu_hidden_marks(const cicu_rules *rules, const uint16_t *source, int32_t length, int32_t *status) {
    UErrorCode error = U_ZERO_ERROR;
    int32_t failed = uspoof_check2(rules->checker, (const UChar *)source, length, NULL, &error);
    *status = error;
    return failed;
}

cicu_category cicu_general_category(int32_t c) {
    uint32_t mask = U_GET_GC_MASK(c);
    if (mask & (U_GC_L_MASK | U_GC_M_MASK | U_GC_N_MASK)) return cicu_letter_mark_or_number;
    if (mask & U_GC_P_MASK) return cicu_punctuation;
    if (mask & (U_GC_SM_MASK | U_GC_SC_MASK | U_GC_SK_MASK)) return cicu_math_currency_or_modifier_symbol;
    if (mask & U_GC_SO_MASK) return cicu_other_symbol;
    return cicu_other;
}

bool cicu_is_default_ignorable(int32_t c) { return u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT); }
bool cicu_is_emoji(int32_t c) { return u_hasBinaryProperty(c, UCHAR_EMOJI); }
bool cicu_is_xid_continue(int32_t c) { return u_hasBinaryProperty(c, UCHAR_XID_CONTINUE); }
bool cicu_is_deprecated(int32_t c) { return u_hasBinaryProperty(c, UCHAR_DEPRECATED); }
bool cicu_is_nfkc_stable(int32_t c) { return u_getIntPropertyValue(c, UCHAR_NFKC_QUICK_CHECK) != UNORM_NO; }
