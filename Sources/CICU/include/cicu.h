#ifndef CICU_H
#define CICU_H
// The few ICU calls the nickname rules need, behind plain C types. ICU's own headers stay
// inside cicu.c: Foundation on Linux carries its own copy of ICU's headers, and a Swift
// module that saw both (the daemon imports Foundation) would fail to build on the clash.
// The wrappers also hide ICU's versioned symbol names (uspoof_getSkeleton_72).
#include <stdint.h>
#include <stdbool.h>

// ICU's U_BUFFER_OVERFLOW_ERROR; cicu.c checks it is the same number.
#define CICU_BUFFER_OVERFLOW 15

typedef struct cicu_rules cicu_rules;

// The UTS #39 spoof checker (with the invisible and hidden-overlay checks) and the
// normalizers; NULL on failure, with ICU's error code in *status.
cicu_rules *cicu_rules_open(int32_t *status);
void cicu_rules_close(cicu_rules *rules);
const char *cicu_error_name(int32_t status);

// Write UTF-16 into destination and return its length; *status as ICU's (> 0 is failure,
// CICU_BUFFER_OVERFLOW: call again with the returned length as capacity).
int32_t cicu_nfc(const cicu_rules *rules, const uint16_t *source, int32_t length,
                 uint16_t *destination, int32_t capacity, int32_t *status);
int32_t cicu_nfkc_casefold(const cicu_rules *rules, const uint16_t *source, int32_t length,
                           uint16_t *destination, int32_t capacity, int32_t *status);
int32_t cicu_skeleton(const cicu_rules *rules, const uint16_t *source, int32_t length,
                      uint16_t *destination, int32_t capacity, int32_t *status);
// Nonzero when marks would not show (USPOOF_INVISIBLE | USPOOF_HIDDEN_OVERLAY).
int32_t cicu_hidden_marks(const cicu_rules *rules, const uint16_t *source, int32_t length, int32_t *status);

typedef enum {
    cicu_letter_mark_or_number,
    cicu_punctuation,
    cicu_math_currency_or_modifier_symbol,
    cicu_other_symbol,
    cicu_other, // separators, controls, format, private use, surrogates, unassigned
} cicu_category;

cicu_category cicu_general_category(int32_t c);
bool cicu_is_default_ignorable(int32_t c);
bool cicu_is_emoji(int32_t c);
bool cicu_is_xid_continue(int32_t c);
bool cicu_is_deprecated(int32_t c);
// False when NFKC would change the character (fullwidth, mathematical and other styled forms).
bool cicu_is_nfkc_stable(int32_t c);

#endif
