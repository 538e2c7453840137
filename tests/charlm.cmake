# charlm --states trains three small models for 2,000 updates each: seconds
# in the release build, minutes under AddressSanitizer, so the sanitizer
# build leaves it out (nosan). cli_charlm_json runs a tiny --states there.
if(TEST cli_charlm_states)
  set_tests_properties(cli_charlm_states PROPERTIES LABELS "charlm;nosan" TIMEOUT 300)
endif()
