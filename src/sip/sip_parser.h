/* The SIP message class vcsd parses with: Sofia's own, except for the request line.
 * Debian's Sofia refuses a whole message whose request line it cannot parse (a method with a
 * character its token table lacks, such as the backquote of RFC 4475 "intmeth"; spaces or an
 * unbracketed IPv6 host in the Request-URI), and nta then drops it as garbage: no answer at
 * all. With this class such a request line still yields a request, so that the rest of the
 * message (the Via) is parsed and the request gets its RFC 3261 answer: an RFC 3261 method
 * token with a good URI goes on as an unknown method (501 from the stack), a bad Request-URI
 * marks the message as erroneous (nta answers 400 wherever the Via can be read). */
#ifndef VCS_SIP_PARSER_H
#define VCS_SIP_PARSER_H

#include <sofia-sip/msg_mclass.h>

/* A new message class (free it with sip_parser_free() after the stack using it is gone), or
 * NULL when out of memory. Give it to nua_create() with NUTAG_SIP_PARSER(). */
msg_mclass_t *sip_parser_create(void);
void sip_parser_free(msg_mclass_t *mc);

#endif
