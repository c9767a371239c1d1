from django.urls import path

from accounts import views_admin

urlpatterns = [
    path("users/", views_admin.UserListView.as_view(), name="operator-users"),
    path("users/<uuid:user_id>/", views_admin.UserDetailView.as_view(), name="operator-user"),
    path("users/<uuid:user_id>/ban/", views_admin.UserBanView.as_view(), name="operator-user-ban"),
    path(
        "users/<uuid:user_id>/unban/",
        views_admin.UserUnbanView.as_view(),
        name="operator-user-unban",
    ),
]
