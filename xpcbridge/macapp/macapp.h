// macapp.h declares the Objective-C half of package macapp. Each function
// returning int returns 0 on success, or a non-zero code and sets *msg to a
// malloc'd message the caller frees.
#ifndef CARAPACE_MACAPP_H
#define CARAPACE_MACAPP_H

int gmac_register(int kind, const char *plist, char **msg);
int gmac_unregister(int kind, const char *plist, char **msg);
int gmac_status(int kind, const char *plist);
void gmac_open_login_items(void);
int gmac_ax_trusted(int prompt);
int gmac_open_app(const char *bundle_id, char **msg);
int gmac_activate_app(const char *bundle_id, char **msg);
int gmac_quit_app(const char *bundle_id, char **msg);
int gmac_show_approval(const char *id, const char *title, const char *body,
                       const char **keys, const char **titles, int n, char **msg);
void gmac_withdraw_approval(const char *id);

#endif
