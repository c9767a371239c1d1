from django.urls import path

from tokens import views, views_service

urlpatterns = [
    path("refresh/", views.RefreshView.as_view(), name="refresh"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("token/", views_service.TokenView.as_view(), name="service-token"),
    path("verify/", views_service.IntrospectView.as_view(), name="introspect"),
]
