#ifndef CICU_SHIM_H
#define CICU_SHIM_H
// ICU's C API as Swift can call it. ICU renames every symbol with its version
// (uspoof_getSkeleton is really uspoof_getSkeleton_72), so Swift would see the versioned
// names; these one-line wrappers give stable names that survive an ICU upgrade.
#include <unicode/utypes.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>

static inline const char *cicu_error_name(UErrorCode status) { return u_errorName(status); }

// UTS #39 confusable detection.
static inline USpoofChecker *cicu_spoof_open(UErrorCode *status) { return uspoof_open(status); }
static inline void cicu_spoof_close(USpoofChecker *checker) { uspoof_close(checker); }
static inline void cicu_spoof_set_checks(USpoofChecker *checker, int32_t checks, UErrorCode *status) {
    uspoof_setChecks(checker, checks, status);
}
static inline int32_t cicu_spoof_check(const USpoofChecker *checker, const UChar *id, int32_t length, UErrorCode *status) {
    return uspoof_check2(checker, id, length, NULL, status);
}
static inline int32_t cicu_skeleton(const USpoofChecker *checker, const UChar *id, int32_t length,
                                    UChar *destination, int32_t capacity, UErrorCode *status) {
    return uspoof_getSkeleton(checker, 0, id, length, destination, capacity, status);
}
// Normalisation.
static inline const UNormalizer2 *cicu_nfc(UErrorCode *status) { return unorm2_getNFCInstance(status); }
static inline const UNormalizer2 *cicu_nfkc_casefold(UErrorCode *status) { return unorm2_getNFKCCasefoldInstance(status); }
static inline int32_t cicu_normalize(const UNormalizer2 *normalizer, const UChar *source, int32_t length,
                                     UChar *destination, int32_t capacity, UErrorCode *status) {
    return unorm2_normalize(normalizer, source, length, destination, capacity, status);
}

// Character properties.
static inline UBool cicu_is_default_ignorable(UChar32 c) { return u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT); }
static inline UBool cicu_is_emoji(UChar32 c) { return u_hasBinaryProperty(c, UCHAR_EMOJI); }
static inline UBool cicu_is_xid_continue(UChar32 c) { return u_hasBinaryProperty(c, UCHAR_XID_CONTINUE); }
static inline UBool cicu_is_deprecated(UChar32 c) { return u_hasBinaryProperty(c, UCHAR_DEPRECATED); }
// False when NFKC would change the character (fullwidth, mathematical and other styled forms).
static inline UBool cicu_is_nfkc_stable(UChar32 c) { return u_getIntPropertyValue(c, UCHAR_NFKC_QUICK_CHECK) != UNORM_NO; }
static inline int8_t cicu_char_type(UChar32 c) { return u_charType(c); }

#endif
